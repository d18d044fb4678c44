"""Job engines: where a job's files are prepared and how its batches are written (``local``, ``ray``)."""

from app.jobs.engines.base import EventCallback, JobEngine, JobRun, RunOutcome
from app.jobs.engines.registry import ENGINE_NAMES, build_job_engine

__all__ = ["ENGINE_NAMES", "EventCallback", "JobEngine", "JobRun", "RunOutcome", "build_job_engine"]
