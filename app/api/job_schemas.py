"""HTTP shapes of batch jobs. Paths are shown relative to the jobs root (the server's layout stays private)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from app.api.schemas import error_response, error_responses
from app.jobs.models import Job, JobFile

MAX_INPUTS = 1000
# A path relative to the jobs root: segments that are not empty, "." or "..", no NUL. Documented in the
# schema but checked by the route, so a path that breaks it gets 400 (outside the root) like any other.
RELATIVE_PATH = r"^[^/\x00]*[^/.\x00][^/\x00]*(/[^/\x00]*[^/.\x00][^/\x00]*)*/?$"
InputPath = Annotated[str, Field(max_length=4096, json_schema_extra={"pattern": RELATIVE_PATH})]
JobEngineName = Literal["local", "ray"]  # the names in app/jobs/engines/registry.py (a unit test checks)
ENGINE_HELP = (
    "Where the job's files are prepared: 'local' (threads of the server) or 'ray' (Ray Data actor pools on "
    "the cluster at AMALGAM_RAY_ADDRESS, else a local Ray; needs the ray extra, 400 without it)."
)


class JobCreateRequest(BaseModel):
    paths: list[InputPath] = Field(
        min_length=1,
        max_length=MAX_INPUTS,
        description="Files or folders on the server, relative to the jobs root (AMALGAM_JOBS_ROOT), without "
        "'..'; an absolute path, or one that resolves outside the root (through a link), is refused with 400.",
    )
    name: str = Field(default="", max_length=200, description="A name to find the job by.")
    batch_size: int = Field(default=4, ge=1, le=1000, description="Files per ingest batch.")
    workers: int = Field(default=1, ge=1, le=8, description="local: threads; ray: actors per stage (docs/jobs.md).")
    engine: JobEngineName = Field(default="local", description=ENGINE_HELP)

    @field_validator("paths", "name")
    @classmethod
    def _encodable(cls, value: str | list[str]) -> str | list[str]:
        for text in [value] if isinstance(value, str) else value:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError("not valid Unicode text (lone surrogate)") from exc
        return value


class JobInfo(Job):
    """A job's progress: status, figures, elapsed time and ETA."""


class JobFileInfo(JobFile):
    """One input file of a job (path relative to the jobs root) and, when it failed, why."""


class JobDetailInfo(JobInfo):
    files: list[JobFileInfo] = Field(default_factory=list)


def job_error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """``error_responses`` with the meanings jobs give to 400, 404 and 409."""
    meaning = {
        400: "A path outside the jobs root (absolute, with '..', or through a link that leads out), or an "
        "engine this server cannot run (the ray extra is not installed).",
        404: "No such job, or no such workspace.",
        409: "The job is running; wait for it to end or cancel it.",
    }
    responses = error_responses(*codes)
    for code in codes:
        if code in meaning:
            responses[code] = error_response(code, meaning[code])
    return responses


def create_job_responses() -> dict[int | str, dict[str, object]]:
    responses = job_error_responses(400, 403)
    responses[404] = error_response(404, "A path that does not exist in the jobs root, or no such workspace.")
    return responses
