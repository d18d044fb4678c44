"""The local engine: a job's pending batches ingested through ``Engine.ingest`` by a small thread pool.

Each batch is one ``Engine.ingest`` call over a fixed group of files, the same code ``amalgam ingest``
runs; its outcome is recorded in one transaction, and the cancel flag is read before each batch.

What ``workers`` buys: the Engine writes one batch at a time per workspace (its write lock), and today
``Engine.ingest`` loads and parses files inside that lock too, so extra workers only keep the next
batch queued at the lock; they do not make one workspace ingest faster. (A worker could parse files
outside the lock once the Engine accepts loaded documents.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from app.engine import Engine
from app.errors import StoreUnavailableError
from app.jobs.models import JobFile
from app.jobs.store import BatchFigures, FileOutcome, JobStore
from app.pipeline import FileError, IngestReport

log = logging.getLogger(__name__)

EventCallback = Callable[[str, int], None]  # ("file_done" | "file_failed" | "chunk" | "document", amount)
ERRORS_PER_FILE = 3  # a JSONL file may report thousands of bad lines; the record keeps the first few


@dataclass
class RunOutcome:
    """How a run ended: every batch ingested, cancelled, stopped (interrupted on purpose), or an error
    that is not one file's fault (the graph store went away) with its message."""

    state: str = "done"  # done | cancelled | stopped | failed
    error: str = ""


@dataclass
class JobRunner:
    engine: Engine
    store: JobStore
    job_id: str
    workers: int = 1
    on_event: EventCallback = field(default=lambda event, amount: None)
    stop: threading.Event = field(default_factory=threading.Event)  # set by a server shutting down
    _outcome: RunOutcome = field(default_factory=RunOutcome)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> RunOutcome:
        # Batches run on pool threads even with one worker, so 1 and N workers take the same code path and
        # differ only in the worker count.
        batches = self._pending_batches()
        with ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="amalgam-job") as pool:
            futures = [pool.submit(self._work, batches) for _ in range(max(1, self.workers))]
            try:
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C in the caller: the workers end after their current batch
                self.stop.set()
                raise
        return self._outcome

    def _pending_batches(self) -> Iterator[tuple[int, list[JobFile]]]:
        """Batches with a file not finished (queued, or running when a killed run left it), in order."""
        groups: dict[int, list[JobFile]] = {}
        for file in self.store.files(self.job_id):
            if file.status in ("queued", "running"):
                groups.setdefault(file.batch, []).append(file)
        yield from sorted(groups.items())

    def _work(self, batches: Iterator[tuple[int, list[JobFile]]]) -> None:
        while True:
            with self._lock:  # one thread at a time takes the next batch and decides whether to go on
                if self._should_end():
                    return
                item = next(batches, None)
            if item is None:
                return
            try:
                self._ingest_batch(*item)
            except StoreUnavailableError as exc:
                with self._lock:
                    self._outcome = RunOutcome("failed", f"graph store unavailable: {exc}")
                return

    def _should_end(self) -> bool:
        if self._outcome.state != "done":
            return True
        if self.stop.is_set():
            self._outcome = RunOutcome("stopped")
        elif self.store.cancel_requested(self.job_id):
            self._outcome = RunOutcome("cancelled")
        return self._outcome.state != "done"

    # -- one batch ---------------------------------------------------------------------------------
    def _ingest_batch(self, batch: int, files: list[JobFile]) -> None:
        self.store.mark_files(self.job_id, [FileOutcome(f.seq, "running") for f in files])
        prompt, completion = self.engine.usage.prompt_tokens, self.engine.usage.completion_tokens
        reports = self._ingest_files(files)
        errors = [error for report in reports for error in report.errors]
        outcomes = [_outcome_of(file, errors) for file in files]
        figures = BatchFigures(
            documents=sum(r.documents_new + r.documents_replaced + r.documents_unchanged for r in reports),
            chunks=sum(r.chunks for r in reports),
            entities=sum(r.entities for r in reports),
            relations=sum(r.relations for r in reports),
            # The engine's tokens since the batch began (with other workers, shared among their batches).
            prompt_tokens=self.engine.usage.prompt_tokens - prompt,
            completion_tokens=self.engine.usage.completion_tokens - completion,
        )
        self.store.record_batch(self.job_id, batch, outcomes, figures)
        for outcome in outcomes:
            self.on_event("file_done" if outcome.status == "done" else "file_failed", 1)

    def _ingest_files(self, files: list[JobFile]) -> list[IngestReport]:
        """The ingest's report(s). A batch that raises is retried file by file, so only the file at fault
        fails (with the exception as its reason); a store outage stops the job instead."""
        paths = [Path(f.path) for f in files]
        try:
            return [self.engine.ingest(paths, self._progress)]
        except StoreUnavailableError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of one file must not end the job
            if len(files) == 1:
                log.warning("%s: %s", files[0].path, exc)
                return [_failed(files[0].path, exc)]
        return [report for file in files for report in self._ingest_files([file])]

    def _progress(self, event: str, amount: int) -> None:
        if event in ("chunk", "document"):
            self.on_event(event, amount)


def _failed(path: str, exc: Exception) -> IngestReport:
    return IngestReport(errors=[FileError(path=path, error=f"{path}: {type(exc).__name__}: {exc}")])


def _outcome_of(file: JobFile, reported: list[FileError]) -> FileOutcome:
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
