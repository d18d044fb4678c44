"""``POST /jobs/uploads``: a batch job over uploaded files (multipart), stored under the workspace's uploads
folder with safe names; each file's type (415) and size (413) is checked before the job is made."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, UploadFile, status

from app.api.deps import SettingsDep, WorkspaceDep, admin_only
from app.api.job_schemas import ENGINE_HELP, JobEngineName, JobInfo, job_error_responses
from app.api.routes.documents import safe_upload_path
from app.api.routes.jobs import _call, _info, job_engine

router = APIRouter(prefix="/jobs", tags=["jobs"])
MAX_FILES = 200


@router.post(
    "/uploads",
    response_model=JobInfo,
    status_code=status.HTTP_202_ACCEPTED,
    responses=job_error_responses(400, 403, 413, 415, 507),
    **admin_only(),
)
def create_upload_job(
    files: list[UploadFile],
    workspace: WorkspaceDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=200)] = "",
    batch_size: Annotated[int, Form(ge=1, le=1000)] = 4,
    workers: Annotated[int, Form(ge=1, le=8)] = 1,
    engine: Annotated[JobEngineName, Form(description=ENGINE_HELP)] = "local",
) -> JobInfo:
    """Upload files (txt, md, html, pdf, jsonl; each ≤ AMALGAM_UPLOAD_MAX_MB, all together too) and ingest
    them as a background job (202), like ``POST /jobs`` does for server-side paths."""
    if not files or len(files) > MAX_FILES:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"send 1 to {MAX_FILES} files")
    runner = job_engine(settings, engine, workers)  # 400 before anything is stored
    limit = settings.upload_max_mb * 1024 * 1024
    folder = workspace.upload_dir / "jobs" / secrets.token_hex(8)
    targets: list[Path] = []
    for upload in files:
        target = safe_upload_path(folder, upload.filename or "")  # 415 for a type no loader reads
        if target in targets:
            target = target.with_name(f"{len(targets)}-{target.name}")  # same name twice: keep both
        targets.append(target)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for upload, target in zip(files, targets, strict=True):
            data = upload.file.read(limit + 1)
            if len(data) > limit:
                too_large = f"{target.name} exceeds {settings.upload_max_mb} MB"
                raise HTTPException(413, too_large)
            target.write_bytes(data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # no half-uploaded batch left behind
        raise
    background = workspace.jobs
    job = _call(background.jobs.create, targets, name=name or f"upload of {len(targets)} files", batch_size=batch_size)
    background.submit(job.id, engine=runner)
    return _info(background.jobs.summary(job.id), settings.jobs_root)
