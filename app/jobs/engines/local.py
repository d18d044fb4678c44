"""The local engine: a job's pending batches ingested through ``Engine.ingest`` by a small thread pool.

Each batch is one ``Engine.ingest`` call over a fixed group of files, the same code ``amalgam ingest``
runs. What ``workers`` buys: the Engine writes one batch at a time per workspace (its write lock), and
``Engine.ingest`` prepares (loads, chunks, extracts, embeds) inside that lock too, so extra workers
only keep the next batch queued at the lock; they do not make one workspace ingest faster.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import StoreUnavailableError
from app.jobs.engines.base import JobRun, RunOutcome, file_by_file
from app.jobs.models import JobFile

log = logging.getLogger(__name__)


@dataclass
class LocalEngine:
    workers: int = 1
    name: str = "local"
    _outcome: RunOutcome = field(default_factory=RunOutcome)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, job: JobRun) -> RunOutcome:
        # Batches run on pool threads even with one worker, so 1 and N workers take the same code path and
        # differ only in the worker count.
        from concurrent.futures import ThreadPoolExecutor

        self._outcome = RunOutcome()
        batches = iter(job.pending_batches())
        workers = max(1, self.workers)
        with ThreadPoolExecutor(workers, thread_name_prefix="amalgam-job") as pool:
            futures = [pool.submit(self._work, job, batches) for _ in range(workers)]
            try:
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C in the caller: the workers end after their current batch
                job.stop.set()
                raise
        return self._outcome

    def _work(self, job: JobRun, batches: Iterator[tuple[int, list[JobFile]]]) -> None:
        while True:
            with self._lock:  # one thread at a time takes the next batch and decides whether to go on
                if self._should_end(job):
                    return
                item = next(batches, None)
            if item is None:
                return
            try:
                self._ingest_batch(job, *item)
            except StoreUnavailableError as exc:
                with self._lock:
                    self._outcome = RunOutcome("failed", f"graph store unavailable: {exc}")
                return

    def _should_end(self, job: JobRun) -> bool:
        if self._outcome.state != "done":
            return True
        self._outcome = job.interruption() or self._outcome
        return self._outcome.state != "done"

    def _ingest_batch(self, job: JobRun, batch: int, files: list[JobFile]) -> None:
        job.start_batch(files)
        usage = job.engine.usage
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
        reports = file_by_file(files, lambda some: job.engine.ingest([Path(f.path) for f in some], job.progress))
        # The engine's tokens since the batch began (with other workers, shared among their batches).
        job.finish_batch(batch, files, reports, (usage.prompt_tokens - prompt, usage.completion_tokens - completion))
