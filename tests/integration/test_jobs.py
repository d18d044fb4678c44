"""Batch jobs on the local engine, embedded store, small real files: a folder where half the files are
corrupt, cancel, resume after an interrupted run, retry of failed files, and the record's figures."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import load_settings
from app.engine import Engine
from app.jobs import JobInputError, JobNotFoundError, Jobs
from app.jobs.store import FileOutcome, JobStore

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
GOOD = ["halvorsen_viaduct.md", "ingrid_solberg.txt", "kestrel_river.html", "mercury.jsonl"]


def _corpus(folder: Path) -> Path:
    """Four good files and four corrupt ones (a broken PDF, binary "text", JSONL without text, an unknown type)."""
    folder.mkdir(parents=True)
    for name in GOOD:
        shutil.copy(SAMPLE / name, folder / name)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage without xref")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "empty_rows.jsonl").write_text('{"title": "no text"}\n{"id": 3}\n')
    (folder / "table.xyz").write_text("an unsupported type")
    return folder


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    engine = Engine(load_settings(data_dir=tmp_path / "data", chunker="sentence"))
    service = Jobs(engine)
    yield service
    service.close()
    engine.close()


def test_half_corrupt_folder_stores_the_good_files_and_reports_the_bad(jobs: Jobs, tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "inbox")
    job = jobs.create([folder], name="half corrupt", batch_size=3)
    assert job.status == "queued" and job.counts.files_total == 8 and job.name == "half corrupt"

    events: list[tuple[str, int]] = []
    done = jobs.run(job.id, on_event=lambda event, n: events.append((event, n)))

    assert done.status == "done" and done.finished_at is not None and done.error == ""
    by_name = {Path(f.path).name: f for f in done.files}
    assert {n for n, f in by_name.items() if f.status == "done"} == set(GOOD)
    failed = {n: f.error for n, f in by_name.items() if f.status == "failed"}
    assert set(failed) == {"broken.pdf", "binary.txt", "empty_rows.jsonl", "table.xyz"}
    assert all(reason for reason in failed.values())
    assert "unsupported file type" in failed["table.xyz"]
    assert "text" in failed["empty_rows.jsonl"]

    stored_sources = {Path(d.source.split("#")[0]).name for d in jobs.engine.list_documents()}
    assert stored_sources == set(GOOD)
    counts = done.counts
    assert (counts.files_done, counts.files_failed) == (4, 4)
    assert counts.documents == len(jobs.engine.list_documents())
    assert counts.chunks == sum(len(jobs.engine.store.chunks_of_document(d.id)) for d in jobs.engine.list_documents())
    assert counts.entities > 0 and counts.relations > 0
    assert sum(n for e, n in events if e == "file_done") == 4 and sum(n for e, n in events if e == "file_failed") == 4
    assert sum(n for e, n in events if e == "chunk") == counts.chunks

    # The record lives in the workspace: a fresh store (another process) reads the same job.
    again = JobStore(jobs.engine.settings.workspace_dir / "jobs.sqlite")
    try:
        row = again.get(job.id)
        assert row is not None and row.status == "done"
        assert [f.status for f in again.files(job.id)] == [f.status for f in done.files]
    finally:
        again.close()


def test_retry_failed_reruns_only_the_failed_files(jobs: Jobs, tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "inbox")
    job = jobs.run(jobs.create([folder], batch_size=8).id)
    chunks_before = job.counts.chunks
    (folder / "binary.txt").write_text("Tove Lindqvist founded the Academy of Lumen in Bergen.")  # fixed meanwhile

    retried = jobs.retry_failed(job.id)

    by_name = {Path(f.path).name: f for f in retried.files}
    assert by_name["binary.txt"].status == "done" and by_name["binary.txt"].error == ""
    assert {n for n, f in by_name.items() if f.status == "failed"} == {"broken.pdf", "empty_rows.jsonl", "table.xyz"}
    assert retried.counts.files_done == 5 and retried.counts.files_failed == 3
    # Only the fixed file was ingested again: the good files' documents were not redone.
    assert retried.counts.chunks > chunks_before
    assert len(jobs.engine.list_documents()) == job.counts.documents + 1


def test_cancel_stops_before_the_next_batch_and_resume_finishes(jobs: Jobs, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(SAMPLE / name, folder / name)
    job = jobs.create([folder], batch_size=1)

    def cancel_after_first_file(event: str, amount: int) -> None:
        if event == "file_done":
            jobs.cancel(job.id)

    cancelled = jobs.run(job.id, on_event=cancel_after_first_file)
    assert cancelled.status == "cancelled"
    assert [f.status for f in cancelled.files] == ["done", "queued", "queued", "queued"]
    assert len(jobs.engine.list_documents()) == 1

    resumed = jobs.resume(job.id)
    assert resumed.status == "done" and resumed.counts.files_done == 4
    assert resumed.cancel_requested is False
    assert len(jobs.engine.list_documents()) == resumed.counts.documents


def test_a_queued_job_is_cancelled_at_once_and_a_stop_requeues_a_running_one(jobs: Jobs, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(SAMPLE / "ingrid_solberg.txt", folder)
    queued = jobs.create([folder])
    assert jobs.cancel(queued.id).status == "cancelled"

    stop = threading.Event()
    stop.set()  # a server shutting down before the first batch
    stopped = jobs.run(jobs.create([folder]).id, stop=stop)
    assert stopped.status == "queued" and stopped.files[0].status == "queued"


def test_interrupted_run_shows_as_interrupted_and_resumes(jobs: Jobs, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in GOOD[:2]:
        shutil.copy(SAMPLE / name, folder / name)
    job = jobs.create([folder], batch_size=1)
    # A process that claimed the job and died (pid 0x7fffffff does not exist) after marking its first file running.
    assert jobs.store.claim(job.id, 2**31 - 1, jobs._host, "dead-runner", None)
    jobs.store.mark_files(job.id, [FileOutcome(0, "running")])
    shown = jobs.get(job.id)
    assert shown.status == "running" and shown.interrupted

    resumed = jobs.resume(job.id)
    assert resumed.status == "done" and not resumed.interrupted
    assert [f.status for f in resumed.files] == ["done", "done"]


def test_bad_requests(jobs: Jobs, tmp_path: Path) -> None:
    with pytest.raises(JobInputError, match="no such file"):
        jobs.create([tmp_path / "missing"])
    with pytest.raises(JobNotFoundError):
        jobs.get("job-nope")
    with pytest.raises(JobNotFoundError):
        jobs.cancel("job-nope")
