"""Jobs run for the REST API: a bounded executor owned by the app, never inside a request.

One job runs at a time (the workspace takes one write at a time anyway); others wait queued. On
shutdown the running job stops after its current batch and goes back to the queue (``resume`` it).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from app.jobs.engines import JobEngine, build_job_engine
from app.jobs.service import Jobs

log = logging.getLogger(__name__)


class BackgroundJobs:
    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None  # made on the first job, again after a shutdown
        self._futures: dict[str, Future[None]] = {}
        self._engines: dict[str, JobEngine] = {}  # what each job last ran on: a retry runs there again

    def submit(self, job_id: str, *, engine: JobEngine | None = None, retry: bool = False) -> None:
        """Queue the job to run in the background on ``engine`` (default: the engine it last ran on, else
        one local thread); ``retry``: its failed files again."""
        if retry:
            self.jobs.requeue_failed(job_id)
        with self._lock:
            chosen = engine or self._engines.get(job_id) or build_job_engine("local")
            self._engines[job_id] = chosen
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amalgam-jobs")
            self._futures[job_id] = self._executor.submit(self._run, job_id, chosen)

    def is_active(self, job_id: str) -> bool:
        """Whether this server runs the job now or will run it (it waits in the queue)."""
        future = self._futures.get(job_id)
        return future is not None and not future.done()

    def _run(self, job_id: str, engine: JobEngine) -> None:
        if self._stop.is_set():
            return
        try:
            job = self.jobs.summary(job_id)
            if job.status == "cancelled":  # cancelled while it waited in the queue
                return
            self.jobs.run(job_id, engine=engine, stop=self._stop)
        except Exception:  # the record holds the reason; the executor thread must survive
            log.exception("job %s failed", job_id)

    def shutdown(self) -> None:
        """Stop after the current batch; queued jobs stay queued in the record (``resume`` them)."""
        with self._lock:
            executor, self._executor = self._executor, None
            if executor is None:
                return
            self._stop.set()
            executor.shutdown(wait=True, cancel_futures=True)
            self._stop.clear()
