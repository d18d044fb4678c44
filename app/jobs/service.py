"""``Jobs``: create, run, resume, retry, cancel and read the batch jobs of one workspace.

The CLI and the REST API both go through this class, over the workspace's ``Engine``. A run claims
the job in the record (process id, host, a token) so that two processes never run the same job, and a
job whose process was killed shows as ``interrupted`` until ``resume`` continues it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from app.engine import Engine
from app.jobs.engines import EventCallback, JobEngine, JobRun, RunOutcome, build_job_engine
from app.jobs.errors import JobInputError, JobNotFoundError, JobStateError
from app.jobs.models import FileStatus, Job, JobDetail, JobFile, JobStatus
from app.jobs.store import JobRow, JobStore
from ingest.loaders import discover

log = logging.getLogger(__name__)

JOBS_DB = "jobs.sqlite"
# How a run's end shows in the record; a stopped run (server shutdown) goes back to the queue, to be resumed.
_STATUS_AFTER_RUN: dict[str, JobStatus] = {"done": "done", "cancelled": "cancelled", "stopped": "queued"}
DEFAULT_BATCH_FILES = 4


class Jobs:
    def __init__(self, engine: Engine, store: JobStore | None = None) -> None:
        self.engine = engine
        self._store = store
        self._store_lock = threading.Lock()
        self._host = socket.gethostname()

    @property
    def store(self) -> JobStore:
        """The workspace's job records, opened on first use (creating an app touches no file)."""
        with self._store_lock:
            if self._store is None:
                self._store = JobStore(self.engine.settings.workspace_dir / JOBS_DB)
            return self._store

    def close(self) -> None:
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- create ------------------------------------------------------------------------------------
    def create(self, inputs: Sequence[Path], *, name: str = "", batch_size: int = DEFAULT_BATCH_FILES) -> Job:
        """Record a queued job over ``inputs`` (files and folders, walked now: the total is known at once)."""
        if batch_size < 1:
            raise JobInputError("batch size must be at least 1")
        resolved = [Path(p).resolve() for p in inputs]
        missing = [str(p) for p in resolved if not p.exists()]
        if missing:
            raise JobInputError(f"no such file or folder: {', '.join(missing)}")
        files = _files_of(resolved, batch_size)
        job_id = f"job-{uuid.uuid4().hex[:12]}"
        name = name or ", ".join(p.name for p in resolved)[:200]
        self.store.create(job_id, name, self.engine.settings.workspace, [str(p) for p in resolved], batch_size, files)
        return self.get(job_id)

    # -- run ---------------------------------------------------------------------------------------
    def run(
        self,
        job_id: str,
        *,
        workers: int = 1,
        on_event: EventCallback | None = None,
        stop: threading.Event | None = None,
        engine: str | JobEngine = "local",
        ray_address: str | None = None,
    ) -> JobDetail:
        """Run a job's pending files (a new job's all of them; a resumed job's unfinished ones) on ``engine``
        (a name from ``app.jobs.engines``, or an engine; ``workers`` and ``ray_address`` configure a named one)."""
        runner = (
            build_job_engine(engine, workers=workers, ray_address=ray_address) if isinstance(engine, str) else engine
        )
        row = self._row(job_id)
        if row.status == "running" and self._alive(row):
            raise JobStateError(f"job {job_id} is already running (process {row.runner_pid} on {row.runner_host})")
        token = uuid.uuid4().hex
        if not self.store.claim(job_id, os.getpid(), self._host, token, row.runner_token):
            raise JobStateError(f"job {job_id} was just claimed by another process")
        started = time.monotonic()
        outcome = RunOutcome("failed", "the run ended unexpectedly")
        try:
            run = JobRun(self.engine, self.store, job_id, stop=stop or threading.Event())
            if on_event is not None:
                run.on_event = on_event
            outcome = runner.run(run)
        except BaseException as exc:
            outcome = RunOutcome("failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            status = _STATUS_AFTER_RUN.get(outcome.state, "failed")
            self.store.finish(job_id, token, status, outcome.error, time.monotonic() - started)
        return self.get(job_id)

    def resume(
        self,
        job_id: str,
        *,
        workers: int = 1,
        on_event: EventCallback | None = None,
        stop: threading.Event | None = None,
        engine: str | JobEngine = "local",
        ray_address: str | None = None,
    ) -> JobDetail:
        """Continue an interrupted, cancelled, failed or queued job; finished files are not redone (and
        ingest skips documents already stored, so nothing is duplicated)."""
        row = self._row(job_id)
        if row.status == "done":
            return self.get(job_id)
        return self.run(job_id, workers=workers, on_event=on_event, stop=stop, engine=engine, ray_address=ray_address)

    def retry_failed(
        self,
        job_id: str,
        *,
        workers: int = 1,
        on_event: EventCallback | None = None,
        stop: threading.Event | None = None,
        engine: str | JobEngine = "local",
        ray_address: str | None = None,
    ) -> JobDetail:
        """Run the job's failed files again (each alone)."""
        self.requeue_failed(job_id)
        return self.run(job_id, workers=workers, on_event=on_event, stop=stop, engine=engine, ray_address=ray_address)

    def cancel(self, job_id: str) -> Job:
        """Ask the job to stop before its next batch; a job no process runs is cancelled at once."""
        row = self._row(job_id)
        if row.status in ("done", "failed", "cancelled"):
            return self.get(job_id)
        self.store.request_cancel(job_id)
        if row.status == "queued" or not self._alive(row):
            self.store.set_status(job_id, "cancelled")
        return self.get(job_id)

    def requeue_failed(self, job_id: str) -> int:
        """Queue the failed files again without running them (the API runs the job in the background)."""
        self._refuse_if_running(job_id)
        return self.store.requeue_failed(job_id)

    # -- reads -------------------------------------------------------------------------------------
    def get(self, job_id: str) -> JobDetail:
        return JobDetail(**self._job(self._row(job_id)).model_dump(), files=self.store.files(job_id))

    def summary(self, job_id: str) -> Job:
        return self._job(self._row(job_id))

    def list_jobs(self, limit: int = 100) -> list[Job]:
        return [self._job(row) for row in self.store.list_jobs(limit)]

    def _row(self, job_id: str) -> JobRow:
        row = self.store.get(job_id)
        if row is None:
            raise JobNotFoundError(f"no job {job_id}")
        return row

    def _refuse_if_running(self, job_id: str) -> None:
        row = self._row(job_id)
        if row.status == "running" and self._alive(row):
            raise JobStateError(f"job {job_id} is running; wait for it to end or cancel it")

    def _alive(self, row: JobRow) -> bool:
        """Whether the process that claimed the job still runs (a process on another host is assumed alive)."""
        if row.runner_token is None or row.runner_pid is None:
            return False
        if row.runner_host != self._host:
            return True
        try:
            os.kill(row.runner_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _job(self, row: JobRow) -> Job:
        running = row.status == "running"
        counts, recent = self.store.counts(row.id, since=row.run_started_at if running else None)
        elapsed = row.elapsed_s
        rate = eta = None
        if running and row.run_started_at is not None:
            run_seconds = max(time.time() - row.run_started_at, 1e-6)
            elapsed += run_seconds
            if recent:
                rate = recent / run_seconds
                eta = (counts.files_total - counts.files_done - counts.files_failed) / rate
        return Job(
            id=row.id, name=row.name, workspace=row.workspace, inputs=row.inputs, status=row.status, error=row.error,
            batch_size=row.batch_size, cancel_requested=row.cancel_requested,
            interrupted=running and not self._alive(row), created_at=row.created_at, started_at=row.started_at,
            finished_at=row.finished_at, elapsed_s=round(elapsed, 3), eta_s=None if eta is None else round(eta, 1),
            files_per_s=None if rate is None else round(rate, 3), counts=counts,
        )  # fmt: skip


def _files_of(inputs: list[Path], batch_size: int) -> list[JobFile]:
    """The job's files in discovery order, each once; what discovery will not load is failed at once."""
    files: list[JobFile] = []
    seen: set[str] = set()
    for found in discover(inputs):
        path = str(found)
        if path in seen:
            continue
        seen.add(path)
        seq = len(files)
        reason = getattr(found, "reason", None)  # discovery reports links and special files it skips
        status: FileStatus = "failed" if reason else "queued"
        files.append(JobFile(seq=seq, path=path, batch=seq // batch_size, status=status, error=reason or ""))
    return files
