"""The ``JobEngine`` protocol, and the bookkeeping every engine shares (``JobRun``).

An engine decides where a job's files are prepared and in which order its batches are written; the
job's record is kept the same way whatever the engine: a batch's files are marked running before it
is written, and its outcome (the files' states and the batch's figures) is recorded in one
transaction once it is written. The cancel flag and the stop event are read before each batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from app.engine import Engine
from app.errors import StoreUnavailableError
from app.jobs.models import JobFile
from app.jobs.store import BatchFigures, FileOutcome, JobStore
from app.pipeline import FileError, IngestReport

log = logging.getLogger(__name__)

Item = TypeVar("Item", bound="HasPath")

EventCallback = Callable[[str, int], None]  # ("file_done" | "file_failed" | "chunk" | "document", amount)
ERRORS_PER_FILE = 3  # a JSONL file may report thousands of bad lines; the record keeps the first few


@dataclass
class RunOutcome:
    """How a run ended: every batch ingested, cancelled, stopped (interrupted on purpose), or an error
    that is not one file's fault (the graph store went away) with its message."""

    state: str = "done"  # done | cancelled | stopped | failed
    error: str = ""


@dataclass
class JobRun:
    """One run of one job: the workspace, the job's record, and whom to tell about progress."""

    engine: Engine
    store: JobStore
    job_id: str
    on_event: EventCallback = field(default=lambda event, amount: None)
    stop: threading.Event = field(default_factory=threading.Event)  # set by a server shutting down

    def pending_batches(self) -> list[tuple[int, list[JobFile]]]:
        """Batches with a file not finished (queued, or running when a killed run left it), in order."""
        groups: dict[int, list[JobFile]] = {}
        for file in self.store.files(self.job_id):
            if file.status in ("queued", "running"):
                groups.setdefault(file.batch, []).append(file)
        return sorted(groups.items())

    def interruption(self) -> RunOutcome | None:
        """Why the run must end before its next batch (a stop, a cancel request), or None to go on."""
        if self.stop.is_set():
            return RunOutcome("stopped")
        if self.store.cancel_requested(self.job_id):
            return RunOutcome("cancelled")
        return None

    def start_batch(self, files: list[JobFile]) -> None:
        self.store.mark_files(self.job_id, [FileOutcome(f.seq, "running") for f in files])

    def finish_batch(
        self, batch: int, files: list[JobFile], reports: list[IngestReport], tokens: tuple[int, int]
    ) -> None:
        """Record a written batch in one transaction: its files' states and its figures; then tell."""
        errors = [error for report in reports for error in report.errors]
        outcomes = [outcome_of(file, errors) for file in files]
        figures = BatchFigures(
            documents=sum(r.documents_new + r.documents_replaced + r.documents_unchanged for r in reports),
            chunks=sum(r.chunks for r in reports),
            entities=sum(r.entities for r in reports),
            relations=sum(r.relations for r in reports),
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
        )
        self.store.record_batch(self.job_id, batch, outcomes, figures)
        for outcome in outcomes:
            self.on_event("file_done" if outcome.status == "done" else "file_failed", 1)

    def progress(self, event: str, amount: int) -> None:
        """The ingest's progress callback: chunks and documents go on to the caller."""
        if event in ("chunk", "document"):
            self.on_event(event, amount)


class JobEngine(Protocol):
    """Runs a job's pending batches and says how the run ended; never raises for one file's fault."""

    name: str

    def run(self, job: JobRun) -> RunOutcome: ...


def failed_report(path: str, exc: Exception) -> IngestReport:
    return IngestReport(errors=[FileError(path=path, error=f"{path}: {type(exc).__name__}: {exc}")])


def outcome_of(file: JobFile, reported: list[FileError]) -> FileOutcome:
    """A file failed when the ingest reported a problem with it (its path, or one of its rows ``path#id``)."""
    errors = [
        e.error.removeprefix(file.path + ": ")  # the record names the file already
        for e in reported
        if e.path == file.path or e.path.startswith(file.path + "#")
    ]
    if not errors:
        return FileOutcome(file.seq, "done")
    more = f" (and {len(errors) - ERRORS_PER_FILE} more problems)" if len(errors) > ERRORS_PER_FILE else ""
    return FileOutcome(file.seq, "failed", "; ".join(dict.fromkeys(errors[:ERRORS_PER_FILE])) + more)


class HasPath(Protocol):
    @property
    def path(self) -> str: ...


def file_by_file(items: Sequence[Item], write: Callable[[list[Item]], IngestReport]) -> list[IngestReport]:
    """The batch's report(s). A batch whose write raises is written file by file, so only the file at fault
    fails (with the exception as its reason); a store outage stops the job instead. Both engines use it:
    the local one over job files, the Ray one over files prepared by its workers."""
    try:
        return [write(list(items))]
    except StoreUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of one file must not end the job
        if len(items) == 1:
            log.warning("%s: %s", items[0].path, exc)
            return [failed_report(items[0].path, exc)]
    return [report for item in items for report in file_by_file([item], write)]
