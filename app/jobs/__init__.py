"""Batch knowledge-graph construction jobs: records in the workspace, the local engine, background runs."""

from app.jobs.errors import JobError, JobInputError, JobNotFoundError, JobStateError
from app.jobs.models import Job, JobCounts, JobDetail, JobFile, JobStatus
from app.jobs.service import Jobs

__all__ = [
    "Job",
    "JobCounts",
    "JobDetail",
    "JobError",
    "JobFile",
    "JobInputError",
    "JobNotFoundError",
    "JobStateError",
    "JobStatus",
    "Jobs",
]
