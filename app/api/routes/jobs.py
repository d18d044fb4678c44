"""Batch jobs over server-side folders: create (202, runs in the background), list, get, cancel, retry
failed files, and a server-sent progress stream. No job ever runs inside a request."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import SettingsDep, WorkspaceDep, admin_only
from app.api.guard import without_server_paths
from app.api.job_schemas import (
    RELATIVE_PATH,
    JobCreateRequest,
    JobDetailInfo,
    JobFileInfo,
    JobInfo,
    create_job_responses,
    job_error_responses,
)
from app.config import Settings
from app.errors import MissingExtraError
from app.jobs import Job, JobDetail, JobError, JobNotFoundError, JobStateError
from app.jobs.background import BackgroundJobs
from app.jobs.engines import JobEngine, build_job_engine

router = APIRouter(prefix="/jobs", tags=["jobs"])
RELATIVE_PATH_RE = re.compile(RELATIVE_PATH)
T = TypeVar("T")
EVENT_POLL_S = 0.5


async def get_background_jobs(workspace: WorkspaceDep) -> BackgroundJobs:
    return workspace.jobs


BackgroundDep = Annotated[BackgroundJobs, Depends(get_background_jobs)]


def resolve_inputs(root: Path, paths: list[str]) -> list[Path]:
    """Each path resolved against the jobs root (links followed): 400 for one outside it (absolute,
    with '..', or a link leading out), 404 for one that does not exist; messages name only what the
    client sent."""
    base = root.resolve()
    resolved = []
    for given in paths:
        if not RELATIVE_PATH_RE.match(given):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"path {given!r} is outside the jobs root: give a path relative to it, without '..'",
            )
        target = (base / given).resolve()
        if not target.is_relative_to(base):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"path {given!r} is outside the jobs root")
        try:
            exists = target.exists()
        except OSError:  # e.g. a name too long for the file system
            exists = False
        if not exists:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such file or folder in the jobs root: {given!r}")
        resolved.append(target)
    return resolved


@router.post(
    "",
    response_model=JobInfo,
    status_code=status.HTTP_202_ACCEPTED,
    responses=create_job_responses(),
    **admin_only(),
)
def create_job(request: JobCreateRequest, background: BackgroundDep, settings: SettingsDep) -> JobInfo:
    """Create a job over files and folders inside the jobs root and start it in the background."""
    inputs = resolve_inputs(settings.jobs_root, request.paths)
    engine = job_engine(settings, request.engine, request.workers)  # 400 before a job is made
    job = background.jobs.create(inputs, name=request.name, batch_size=request.batch_size)
    background.submit(job.id, engine=engine)
    return _info(background.jobs.summary(job.id), settings.jobs_root)


@router.get("", response_model=list[JobInfo])
def list_jobs(background: BackgroundDep, settings: SettingsDep) -> list[JobInfo]:
    """The workspace's jobs, newest first."""
    return [_info(job, settings.jobs_root) for job in background.jobs.list_jobs()]


@router.get("/{job_id}", response_model=JobDetailInfo, responses=job_error_responses(404))
def get_job(job_id: str, background: BackgroundDep, settings: SettingsDep) -> JobDetailInfo:
    """A job's progress, figures, and each file's state with the reason of any failure."""
    return _detail(_call(background.jobs.get, job_id), settings.jobs_root)


@router.post("/{job_id}/cancel", response_model=JobInfo, responses=job_error_responses(403, 404), **admin_only())
def cancel_job(job_id: str, background: BackgroundDep, settings: SettingsDep) -> JobInfo:
    """Stop the job after its current batch (a queued job is cancelled at once)."""
    return _info(_call(background.jobs.cancel, job_id), settings.jobs_root)


@router.post(
    "/{job_id}/retry-failed",
    response_model=JobInfo,
    status_code=status.HTTP_202_ACCEPTED,
    responses=job_error_responses(403, 404, 409),
    **admin_only(),
)
def retry_failed(job_id: str, background: BackgroundDep, settings: SettingsDep) -> JobInfo:
    """Run the job's failed files again, in the background."""
    _call(background.submit, job_id, retry=True)
    return _info(_call(background.jobs.summary, job_id), settings.jobs_root)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "progress events, then one end event"},
        **job_error_responses(404),
    },
)
async def job_events(
    job_id: str, request: Request, background: BackgroundDep, settings: SettingsDep
) -> StreamingResponse:
    """Server-sent events: ``progress`` (the job, whenever it changes), then ``end`` when it finishes."""
    await run_in_threadpool(_call, background.jobs.summary, job_id)  # 404 before the stream starts
    root = settings.jobs_root

    async def events() -> AsyncIterator[str]:
        last = ""
        while not await request.is_disconnected():
            job = await run_in_threadpool(background.jobs.summary, job_id)
            body = _info(job, root).model_dump_json(exclude={"elapsed_s", "eta_s", "files_per_s"})
            if body != last:
                last = body
                yield f"event: progress\ndata: {_info(job, root).model_dump_json()}\n\n"
            if _ended(job, background.is_active(job_id)):
                yield f"event: end\ndata: {json.dumps({'id': job.id, 'status': job.status})}\n\n"
                return
            await asyncio.sleep(EVENT_POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream")


def _ended(job: Job, queued_here: bool) -> bool:
    """Nothing more will happen to the job: it finished, its process died, or it waits for a resume."""
    return job.finished or job.interrupted or (job.status == "queued" and not queued_here)


def job_engine(settings: Settings, name: str, workers: int) -> JobEngine:
    """The engine a REST job runs on; 400 when it cannot run here (the ray extra is not installed)."""
    return _call(build_job_engine, name, workers=workers, ray_address=settings.ray_address or None)


def _call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Job errors as HTTP errors: unknown id 404, wrong state 409, anything else about the request (or an
    engine this server lacks) 400."""
    try:
        return function(*args, **kwargs)
    except JobNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except JobStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (JobError, MissingExtraError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, without_server_paths(str(exc))) from exc


def _shown(path: str, root: Path) -> str:
    """A server path as the client may see it: relative to the jobs root, else only its name."""
    resolved = Path(path)
    base = root.resolve()
    return str(resolved.relative_to(base)) if resolved.is_relative_to(base) else resolved.name


def _info(job: Job, root: Path) -> JobInfo:
    values = job.model_dump()
    values["inputs"] = [_shown(p, root) for p in job.inputs]
    values["error"] = without_server_paths(job.error)
    return JobInfo(**values)


def _detail(job: JobDetail, root: Path) -> JobDetailInfo:
    files = [
        JobFileInfo(**f.model_dump() | {"path": _shown(f.path, root), "error": without_server_paths(f.error)})
        for f in job.files
    ]
    return JobDetailInfo(**_info(job, root).model_dump(), files=files)
