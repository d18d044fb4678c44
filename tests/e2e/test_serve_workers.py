"""``amalgam serve --workers 2``: two real server processes on one workspace behave as one server.

Each worker has its own engine (models, indexes, store connection). A document uploaded to one must be
found by the other without a restart, and concurrent questions must all succeed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _free_port

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "docs" / "sample"
OBSERVATORY = (
    "The Quillfeather Observatory stands on Mount Varnholt. It was founded in 1911 by the astronomer "
    "Edda Lindqvist, who catalogued the comets of the northern sky from its dome."
)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMALGAM_")}
    env.update(AMALGAM_DATA_DIR=str(data_dir), AMALGAM_CHUNKER="sentence", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[str]:
    env = _env(tmp_path / "data")
    ingest = subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", str(SAMPLE / "ingrid_solberg.txt")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        assert len(_children(server.pid)) >= 2  # two worker processes under the one that listens
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def _top_source(base: str, question: str) -> str:
    response = httpx.post(f"{base}/v1/search", json={"question": question, "top_k": 1}, timeout=300)
    assert response.status_code == 200, response.text
    return str(response.json()["sources"][0]["source"])


def _ask_together(base: str, question: str, times: int = 16) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: _top_source(base, question), range(times)))


def test_two_workers_answer_together_and_see_each_other_s_uploads(two_workers: str, tmp_path: Path) -> None:
    tops = _ask_together(two_workers, "Where was Ingrid Solberg born?")
    assert all(top.endswith("ingrid_solberg.txt") for top in tops)

    upload = httpx.post(
        f"{two_workers}/v1/documents", files={"file": ("observatory.txt", OBSERVATORY.encode())}, timeout=600
    )
    assert upload.status_code == 201, upload.text
    # Whichever worker takes each question (the kernel spreads connections over both), it finds the upload.
    tops = _ask_together(two_workers, "Who founded the Quillfeather Observatory?")
    assert all(top.endswith("observatory.txt") for top in tops)
