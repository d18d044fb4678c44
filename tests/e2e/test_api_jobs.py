"""Jobs over REST on a real uvicorn server: a job over a folder inside the jobs root runs in the
background (202) while searches keep answering, its SSE stream reports progress until it ends, and bad
requests get 400/404 without server paths."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.api.main import create_app
from app.config import load_settings
from tests.e2e.conftest import serving

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
QUESTION = {"question": "Where was Ingrid Solberg born?", "top_k": 3}
FILES = 16


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("api-jobs")
    settings = load_settings(data_dir=data, chunker="sentence")
    batch = settings.jobs_root / "batch"
    batch.mkdir(parents=True)
    for n in range(FILES):
        (batch / f"town_{n:02d}.txt").write_text(
            f"Town {n} lies on the Kestrel River. Its mayor, Anna Berg {n}, founded the Lumen School in {1900 + n}. "
            f"The school trained engineers who built the Halvorsen Viaduct near Town {n}."
        )
    (batch / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    api = create_app(settings)
    api.state.engine.ingest([SAMPLE / "ingrid_solberg.txt"])  # questions have something to find meanwhile
    with serving(api) as base:
        yield base, data
    api.state.engine.close()
    shutil.rmtree(data, ignore_errors=True)


def _events(base: str, job_id: str, into: list[tuple[str, dict[str, object]]]) -> None:
    with (
        httpx.Client(base_url=base, timeout=120) as client,
        client.stream("GET", f"/v1/jobs/{job_id}/events") as stream,
    ):
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                into.append((event, json.loads(line.removeprefix("data: "))))


def _search(base: str) -> int:
    with httpx.Client(base_url=base, timeout=60) as client:
        return client.post("/v1/search", json=QUESTION).status_code


def test_job_runs_in_the_background_with_progress_events_while_searches_answer(server: tuple[str, Path]) -> None:
    base, data = server
    with httpx.Client(base_url=base, timeout=60) as client:
        created = client.post("/v1/jobs", json={"paths": ["batch"], "name": "towns", "batch_size": 1})
        assert created.status_code == 202, created.text
        job = created.json()
        assert job["status"] in ("queued", "running") and job["counts"]["files_total"] == FILES + 1
        assert job["inputs"] == ["batch"]  # relative to the jobs root, never the server's layout

        events: list[tuple[str, dict[str, object]]] = []
        reader = threading.Thread(target=_events, args=(base, job["id"], events))
        reader.start()

        deadline = time.monotonic() + 60
        while client.get(f"/v1/jobs/{job['id']}").json()["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda _: _search(base), range(8)))
        during = client.get(f"/v1/jobs/{job['id']}").json()
        assert codes == [200] * 8
        assert during["status"] == "running", "the searches were answered while the job ran"

        deadline = time.monotonic() + 300
        while (done := client.get(f"/v1/jobs/{job['id']}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.2)
        reader.join(timeout=30)
        assert not reader.is_alive(), "the event stream did not end with the job"

    assert done["status"] == "done"
    assert (done["counts"]["files_done"], done["counts"]["files_failed"]) == (FILES, 1)
    failed = [f for f in done["files"] if f["status"] == "failed"]
    assert [f["path"] for f in failed] == ["batch/broken.pdf"] and failed[0]["error"]
    assert str(data) not in json.dumps(done)

    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and events[-1][1] == {"id": job["id"], "status": "done"}
    progress = [body for kind, body in events if kind == "progress"]
    finished = [body["counts"]["files_done"] + body["counts"]["files_failed"] for body in progress]  # type: ignore[index]
    assert len(progress) >= 3 and finished == sorted(finished) and finished[-1] == FILES + 1

    listed = httpx.get(f"{base}/v1/jobs").json()
    assert [j["id"] for j in listed] == [job["id"]]


def test_bad_job_requests(server: tuple[str, Path]) -> None:
    base, data = server
    with httpx.Client(base_url=base, timeout=30) as client:
        for outside in ["../", "/etc", "batch/../../..", str(data)]:
            response = client.post("/v1/jobs", json={"paths": [outside]})
            assert response.status_code == 400, outside
            assert "outside the jobs root" in response.json()["error"]["message"]
            assert str(data) not in response.text or outside == str(data)
        missing = client.post("/v1/jobs", json={"paths": ["nothing-here"]})
        assert missing.status_code == 404 and str(data) not in missing.text
        assert client.post("/v1/jobs", json={"paths": []}).status_code == 422
        for path in ["/v1/jobs/job-unknown", "/v1/jobs/job-unknown/events"]:
            assert client.get(path).status_code == 404
        for path in ["/v1/jobs/job-unknown/cancel", "/v1/jobs/job-unknown/retry-failed"]:
            assert client.post(path).status_code == 404


def test_an_engine_the_server_cannot_run_is_refused_before_a_job_is_made(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = server
    monkeypatch.setitem(sys.modules, "ray", None)  # this server without the ray extra
    with httpx.Client(base_url=base, timeout=30) as client:
        before = len(client.get("/v1/jobs").json())
        refused = client.post("/v1/jobs", json={"paths": ["batch"], "engine": "ray"})
        assert refused.status_code == 400
        assert "amalgam[ray]" in refused.json()["error"]["message"]
        unknown = client.post("/v1/jobs", json={"paths": ["batch"], "engine": "spark"})
        assert unknown.status_code == 422
        assert len(client.get("/v1/jobs").json()) == before
