"""A REST job on the Ray engine, against a real local Ray (``ray.init(num_cpus=2)``) behind a real uvicorn:
``POST /v1/jobs`` with ``"engine": "ray"`` runs in the background and ends with the same job record and the
same graph (every id ingest writes) as the same job with ``"engine": "local"`` in another workspace.

Isolated (a Ray driver in-process): ``scripts/test.sh`` runs it in a pytest process of its own."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.main import create_app
from app.config import load_settings
from tests.e2e.conftest import serving
from tests.graph_snapshot import graph_snapshot

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray extra: pip install 'amalgam[ray]'")

pytestmark = [pytest.mark.ray, pytest.mark.isolated, pytest.mark.slow]

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield
    ray.shutdown()


def _fill_inbox(root: Path) -> None:
    """Three sample documents in two JSONL/text files each side of one corrupt PDF."""
    batch = root / "batch"
    batch.mkdir(parents=True)
    for name in ("ingrid_solberg.txt", "kestrel_river.html", "mercury.jsonl"):
        shutil.copy(SAMPLE / name, batch / name)
    (batch / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage without xref")


def _run_job(data: Path, engine: str) -> tuple[dict[str, Any], dict[str, object]]:
    """The job over the inbox on ``engine`` through REST, waited for; its final record and the graph."""
    settings = load_settings(data_dir=data, chunker="sentence")
    _fill_inbox(settings.jobs_root)
    api = create_app(settings)
    try:
        with serving(api) as base, httpx.Client(base_url=base, timeout=60) as client:
            created = client.post("/v1/jobs", json={"paths": ["batch"], "batch_size": 2, "engine": engine})
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
            deadline = time.monotonic() + 300
            while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, f"the {engine} job did not end: {json.dumps(job)}"
                time.sleep(0.5)
            assert client.get("/healthz").status_code == 200
        return job, graph_snapshot(api.state.engine)
    finally:
        api.state.engine.close()


def _record(job: dict[str, Any]) -> dict[str, object]:
    counts = job["counts"]
    return {
        "status": job["status"],
        "files": sorted((Path(f["path"]).name, f["status"], f["error"]) for f in job["files"]),
        "counts": {k: counts[k] for k in ("files_done", "files_failed", "files_total", "chunks", "entities")},
    }


def test_a_rest_job_on_ray_equals_the_same_job_on_the_local_engine(local_ray: None, tmp_path: Path) -> None:
    local_job, local_graph = _run_job(tmp_path / "local", "local")
    ray_job, ray_graph = _run_job(tmp_path / "ray", "ray")

    assert ray_job["status"] == "done" and ray_job["counts"]["files_failed"] == 1
    assert ray_job["counts"]["entities"] > 0 and ray_graph["entities"]
    assert _record(ray_job) == _record(local_job)
    assert ray_graph == local_graph
