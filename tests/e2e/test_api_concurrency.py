"""The REST API under concurrent load, on a real uvicorn server over loopback (bounded, local only).

Before the fix, 45-60 simultaneous asks deadlocked the worker threads on the engine lock: /healthz stopped
answering and the server could not be stopped. These tests would hang (and fail on their timeouts) then.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.api.main import create_app
from app.api.questions import question_slots
from app.config import load_settings
from tests.e2e.conftest import serving

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
QUESTION = {"question": "Where was Ingrid Solberg born?", "top_k": 3}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FastAPI]]:
    # The sentence chunker keeps the ingest during the test short; concurrency is what is tested here.
    settings = load_settings(data_dir=tmp_path_factory.mktemp("api-load"), chunker="sentence")
    api = create_app(settings)
    api.state.engine.ingest([SAMPLE / "ingrid_solberg.txt", SAMPLE / "halvorsen_viaduct.md"])
    with serving(api) as base:
        yield base, api
    api.state.engine.close()


def _ask(base: str) -> int:
    with httpx.Client(base_url=base, timeout=120) as client:
        return client.post("/v1/ask", json=QUESTION).status_code


def _health_while(base: str, busy: threading.Event) -> list[float]:
    """Latencies of /healthz polled while ``busy`` is set (the health check must never stall)."""
    latencies = []
    with httpx.Client(base_url=base, timeout=10) as client:
        while busy.is_set():
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.1)
    return latencies


def test_hundred_simultaneous_asks_all_succeed_and_health_answers(server: tuple[str, FastAPI]) -> None:
    base, _ = server
    busy = threading.Event()
    busy.set()
    with ThreadPoolExecutor(max_workers=101) as pool:
        health = pool.submit(_health_while, base, busy)
        codes = list(pool.map(lambda _: _ask(base), range(100)))
        busy.clear()
        latencies = health.result(timeout=30)
    assert codes == [200] * 100
    assert latencies, "the health check never got an answer while the asks ran"


def test_asks_run_while_an_upload_ingests(server: tuple[str, FastAPI], tmp_path: Path) -> None:
    """Eight asks during an ingest all answer, with the documents ingested before it."""
    base, api = server
    ingest_done = threading.Event()
    original = api.state.engine.pipeline.ingest  # type: ignore[attr-defined]

    def slow_ingest(*args: object, **kwargs: object) -> object:
        time.sleep(3)  # hold the write lock long enough for the asks to overlap it
        return original(*args, **kwargs)

    api.state.engine.pipeline.ingest = slow_ingest  # type: ignore[attr-defined]
    try:
        with ThreadPoolExecutor(max_workers=9) as pool:

            def upload() -> int:
                with httpx.Client(base_url=base, timeout=120) as client:
                    data = (SAMPLE / "kestrel_river.html").read_bytes()
                    status = client.post("/v1/documents", files={"file": ("kestrel_river.html", data)}).status_code
                ingest_done.set()
                return status

            uploading = pool.submit(upload)
            time.sleep(0.5)
            asks = [pool.submit(_ask, base) for _ in range(8)]
            codes = [a.result(timeout=120) for a in asks]
            asked_during_ingest = not ingest_done.is_set()
            assert uploading.result(timeout=120) == 201
    finally:
        api.state.engine.pipeline.ingest = original  # type: ignore[attr-defined]
    assert codes == [200] * 8
    assert asked_during_ingest, "the asks waited for the ingest to finish"
    with httpx.Client(base_url=base, timeout=60) as client:
        answer = client.post("/v1/ask", json={"question": "Where does the Kestrel River rise?"}).json()
    assert any(s["title"] == "Kestrel River" for s in answer["sources"])


def test_questions_beyond_the_slots_wait_their_turn_and_health_answers(server: tuple[str, FastAPI]) -> None:
    """With two question slots, twelve simultaneous searches all succeed, never more than two retrieve at
    once (and two do: the slots run in parallel), and /healthz answers meanwhile."""
    _, api = server
    engine = api.state.engine
    limited = create_app(api.state.settings.model_copy(update={"question_concurrency": 2}), engine=engine)
    in_flight, peak, counter = 0, 0, threading.Lock()
    original = engine.retrieve

    def counting_retrieve(*args: object, **kwargs: object) -> object:
        nonlocal in_flight, peak
        with counter:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            time.sleep(0.2)  # long enough for the other requests to pile up behind the slots
            return original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with counter:
                in_flight -= 1

    engine.retrieve = counting_retrieve
    try:
        with serving(limited) as base, ThreadPoolExecutor(max_workers=13) as pool:
            busy = threading.Event()
            busy.set()
            health = pool.submit(_health_while, base, busy)

            def search(_: int) -> int:
                with httpx.Client(base_url=base, timeout=120) as client:
                    return client.post("/v1/search", json=QUESTION).status_code

            codes = list(pool.map(search, range(12)))
            busy.clear()
            latencies = health.result(timeout=30)
    finally:
        del engine.retrieve  # the instance attribute: the class's method again
    assert codes == [200] * 12
    assert peak == 2
    assert latencies and max(latencies) < 2.0, "the health check waited behind the questions"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_question_slots_default_to_the_cores_this_process_may_use() -> None:
    assert question_slots(3) == 3
    cores = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cores)})  # as a container's cpuset would: one core of the machine's
        assert question_slots(0) == 1
        assert question_slots(0, workers=2) == 1  # never none
        if len(cores) >= 2:
            os.sched_setaffinity(0, set(sorted(cores)[:2]))
            assert question_slots(0) == 2 and question_slots(0, workers=2) == 1  # two processes share two cores
    finally:
        os.sched_setaffinity(0, cores)
