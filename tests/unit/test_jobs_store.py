"""The job record (real SQLite in a temporary folder): one transaction per batch, repeated writes change
nothing, claims are compare-and-swap, failed files are requeued in batches of their own, and a record
outlives the connection that wrote it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.jobs.models import JobFile
from app.jobs.store import BatchFigures, FileOutcome, JobStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    store = JobStore(tmp_path / "ws" / "jobs.sqlite")
    files = [JobFile(seq=n, path=f"/in/{n}.txt", batch=n // 2, status="queued") for n in range(5)]
    store.create("job-1", "five files", "default", ["/in"], 2, files)
    yield store
    store.close()


def test_a_batch_outcome_is_recorded_once_however_often_it_is_written(store: JobStore) -> None:
    outcomes = [FileOutcome(0, "done"), FileOutcome(1, "failed", "unreadable PDF")]
    figures = BatchFigures(documents=1, chunks=7, entities=4, relations=2, prompt_tokens=10, completion_tokens=3)
    store.record_batch("job-1", 0, outcomes, figures)
    store.record_batch("job-1", 0, outcomes, figures)  # a repeated write after a crash

    counts, recent = store.counts("job-1")
    assert (counts.files_total, counts.files_done, counts.files_failed) == (5, 1, 1)
    assert (counts.documents, counts.chunks, counts.entities, counts.relations) == (1, 7, 4, 2)
    assert (counts.prompt_tokens, counts.completion_tokens) == (10, 3)
    assert recent == 2
    assert [f.error for f in store.files("job-1", "failed")] == ["unreadable PDF"]


def test_claims_are_compare_and_swap_and_finish_needs_the_claim(store: JobStore) -> None:
    assert store.claim("job-1", 101, "host", "token-a", None)
    assert not store.claim("job-1", 102, "host", "token-b", None), "a second claimant that saw no claim loses"
    store.finish("job-1", "token-b", "done", "", 1.0)  # not the claim holder: no effect
    row = store.get("job-1")
    assert row is not None and row.status == "running" and row.runner_token == "token-a"

    assert store.claim("job-1", 102, "host", "token-b", "token-a"), "a resume that saw the dead claim takes over"
    store.finish("job-1", "token-b", "done", "", 2.5)
    row = store.get("job-1")
    assert row is not None and row.status == "done" and row.runner_token is None and row.elapsed_s == 2.5


def test_failed_files_go_back_to_the_queue_in_new_batches_of_their_own(store: JobStore) -> None:
    store.record_batch("job-1", 0, [FileOutcome(0, "failed", "x"), FileOutcome(1, "failed", "y")], BatchFigures())
    store.record_batch("job-1", 1, [FileOutcome(2, "done"), FileOutcome(3, "done")], BatchFigures(chunks=5))

    assert store.requeue_failed("job-1") == 2
    files = {f.seq: f for f in store.files("job-1")}
    assert [(files[n].status, files[n].batch, files[n].error) for n in (0, 1)] == [("queued", 3, ""), ("queued", 4, "")]
    assert files[2].status == "done" and files[4].batch == 2
    assert store.counts("job-1")[0].chunks == 5, "the figures of the batches they came from stay"


def test_cancel_flag_and_the_record_outlive_the_connection(store: JobStore, tmp_path: Path) -> None:
    store.request_cancel("job-1")
    store.close()
    reopened = JobStore(tmp_path / "ws" / "jobs.sqlite")
    try:
        assert reopened.cancel_requested("job-1")
        assert [j.id for j in reopened.list_jobs()] == ["job-1"]
        assert reopened.get("job-2") is None and not reopened.cancel_requested("job-2")
    finally:
        reopened.close()
