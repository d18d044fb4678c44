"""The Ray engine against a real local Ray (``ray.init(num_cpus=2)``): the graph it builds (document,
chunk, entity and relation ids, the index) equals the local engine's over the same files and batches, and
the job record (per-file states, counts) is kept the same way, through a cancel and a resume.

Marked ``ray`` (``pytest -m ray``); about a minute on two cores. Skipped where the ray extra is missing."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import load_settings
from app.engine import Engine
from app.jobs import JobDetail, Jobs
from tests.graph_snapshot import graph_snapshot

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray extra: pip install 'amalgam[ray]'")

pytestmark = [pytest.mark.ray, pytest.mark.isolated, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "datasets" / "multihop" / "corpus.jsonl"
BATCH_FILES = 2


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve short passages in four JSONL files (without the shared corpus: the sample's two in two files),
    two sample documents, and one corrupt file."""
    folder = tmp_path_factory.mktemp("inbox")
    if CORPUS.exists():
        with CORPUS.open() as source:
            rows = [json.loads(line) for line in itertools.islice(source, 12)]
    else:  # a fresh clone without the shared data sets: the sample's passages
        rows = [json.loads(line) for line in (REPO / "docs" / "sample" / "mercury.jsonl").read_text().splitlines()]
    parts = min(4, len(rows))  # the sample has fewer rows than four files would need
    for part in range(parts):
        lines = [json.dumps({"id": r["id"], "title": r["title"], "text": r["text"][:600]}) for r in rows[part::parts]]
        (folder / f"part_{part}.jsonl").write_text("\n".join(lines) + "\n")
    for name in ("ingrid_solberg.txt", "kestrel_river.html"):
        shutil.copy(REPO / "docs" / "sample" / name, folder / name)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage without xref")
    return folder


def _jobs(data_dir: Path) -> Jobs:
    return Jobs(Engine(load_settings(data_dir=data_dir, chunker="sentence")))


def _record(job: JobDetail) -> dict[str, object]:
    """What both engines must record alike: each file's state and reason, and the job's figures."""
    c = job.counts
    return {
        "status": job.status,
        "files": [(Path(f.path).name, f.status, f.error) for f in job.files],
        "counts": (c.files_done, c.files_failed, c.files_total, c.documents, c.chunks, c.entities, c.relations),
    }


@pytest.fixture(scope="module")
def local_result(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], dict[str, object]]:
    jobs = _jobs(tmp_path_factory.mktemp("local"))
    try:
        job = jobs.create([inbox], batch_size=BATCH_FILES)
        done = jobs.run(job.id, engine="local")
        return _record(done), graph_snapshot(jobs.engine)
    finally:
        jobs.close()
        jobs.engine.close()


def test_ray_builds_the_same_graph_and_record_as_local(
    local_ray: None, inbox: Path, tmp_path: Path, local_result: tuple[dict[str, object], dict[str, object]]
) -> None:
    local_record, local_graph = local_result
    jobs = _jobs(tmp_path / "ray")
    try:
        job = jobs.create([inbox], batch_size=BATCH_FILES)
        events: list[tuple[str, int]] = []
        done = jobs.run(job.id, engine="ray", on_event=lambda event, n: events.append((event, n)))

        assert _record(done) == local_record
        assert done.status == "done" and done.counts.files_failed == 1 and done.counts.entities > 0
        assert "pdf" in [f.error for f in done.files if f.status == "failed"][0].lower()
        assert graph_snapshot(jobs.engine) == local_graph
        assert sum(n for e, n in events if e == "chunk") == done.counts.chunks
        assert sum(n for e, n in events if e in ("file_done", "file_failed")) == done.counts.files_total
    finally:
        jobs.close()
        jobs.engine.close()


def test_ray_job_cancelled_then_resumed_ends_with_the_same_graph(
    local_ray: None, inbox: Path, tmp_path: Path, local_result: tuple[dict[str, object], dict[str, object]]
) -> None:
    local_record, local_graph = local_result
    jobs = _jobs(tmp_path / "ray")
    try:
        job = jobs.create([inbox], batch_size=BATCH_FILES)

        def cancel_after_first_batch(event: str, amount: int) -> None:
            if event in ("file_done", "file_failed"):
                jobs.cancel(job.id)  # as from another shell: the flag in the record, read before each batch

        stopped = jobs.run(job.id, engine="ray", on_event=cancel_after_first_batch)
        assert stopped.status == "cancelled"
        statuses = [f.status for f in stopped.files]
        assert "queued" not in statuses[:BATCH_FILES] and set(statuses[BATCH_FILES:]) == {"queued"}

        resumed = jobs.resume(job.id, engine="ray")
        assert _record(resumed) == local_record
        assert graph_snapshot(jobs.engine) == local_graph
    finally:
        jobs.close()
        jobs.engine.close()
