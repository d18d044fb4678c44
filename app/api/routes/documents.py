from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, UploadFile, status

from app.api.deps import EngineDep, SettingsDep, WorkspaceDep, admin_only
from app.api.guard import without_server_paths
from app.api.schemas import DeleteResult, DocumentInfo, IngestResult, error_responses
from app.errors import WorkspaceBusyError
from app.results import DocumentSummary
from ingest.loaders import SUPPORTED_EXTENSIONS

router = APIRouter(prefix="/documents", tags=["documents"])
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM_CHARS = 100  # file systems allow 255 bytes; leave room for the suffix and the name's hash


def stored_name(filename: str) -> str:
    """The file name an upload is stored under: safe characters only, bounded, and distinct for distinct
    names (``report?.txt`` and ``report!.txt`` must not replace each other), so a hash of the original
    name is added whenever cleaning changed it."""
    base = Path(filename.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")
    suffix = Path(cleaned).suffix.lower()
    stem = cleaned[: len(cleaned) - len(suffix)] if suffix else cleaned
    if cleaned == base and len(stem) <= MAX_STEM_CHARS:
        return cleaned
    digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{stem[:MAX_STEM_CHARS]}-{digest}{suffix}"


def safe_upload_path(upload_dir: Path, filename: str) -> Path:
    """A path inside ``upload_dir`` for an uploaded file name; anything that could escape it is refused."""
    name = stored_name(filename)
    if not name or Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"unsupported file type {Path(name).suffix or '(none)'!r}; supported: {', '.join(SUPPORTED_EXTENSIONS)}",
        )
    target = (upload_dir / name).resolve()
    if target.parent != upload_dir.resolve():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid file name")
    return target


@router.post(
    "",
    response_model=IngestResult,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 403, 409, 415, 507),
    **admin_only(),
)
def upload(file: UploadFile, workspace: WorkspaceDep, settings: SettingsDep) -> IngestResult:
    """Upload one document and ingest it. Re-uploading an unchanged file is a no-op."""
    engine = workspace.engine
    upload_dir = workspace.upload_dir
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = safe_upload_path(upload_dir, file.filename or "")
    data = file.file.read(settings.upload_max_mb * 1024 * 1024 + 1)
    if len(data) > settings.upload_max_mb * 1024 * 1024:
        raise HTTPException(413, f"file exceeds {settings.upload_max_mb} MB")
    previous = target.read_bytes() if target.is_file() else None  # an earlier upload of that name, ingested
    target.write_bytes(data)
    try:
        report = engine.ingest([target], wait_seconds=settings.api_write_wait_seconds)
    except WorkspaceBusyError:  # nothing of it was written: put back what was there, the client sends it again
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(previous)
        raise
    if report.errors and not report.documents_new + report.documents_replaced + report.documents_unchanged:
        target.unlink(missing_ok=True)
        raise HTTPException(422, without_server_paths(report.errors[0].error))
    return IngestResult(
        documents_new=report.documents_new,
        documents_unchanged=report.documents_unchanged,
        documents_replaced=report.documents_replaced,
        chunks=report.chunks,
        entities=report.entities,
        relations=report.relations,
        errors=[{"path": target.name, "error": without_server_paths(e.error)} for e in report.errors],
    )


@router.get("", response_model=list[DocumentInfo])
def list_documents(engine: EngineDep) -> list[DocumentSummary]:
    """The workspace's documents with their status."""
    return engine.list_documents()


@router.get("/{doc_id}", response_model=DocumentInfo, responses=error_responses(404))
def get_document(doc_id: str, engine: EngineDep) -> DocumentSummary:
    """One document: title, source, pages and status."""
    document = engine.get_document(doc_id)
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no document {doc_id!r}")
    return document


@router.delete("/{doc_id}", response_model=DeleteResult, responses=error_responses(403, 404, 409, 507), **admin_only())
def delete_document(doc_id: str, engine: EngineDep, settings: SettingsDep) -> DeleteResult:
    """Delete a document, its chunks and what only it supported in the graph (lossless for the rest)."""
    report = engine.delete_document(doc_id, wait_seconds=settings.api_write_wait_seconds)
    if not report.found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no document {doc_id!r}")
    return DeleteResult(
        doc_id=doc_id,
        deleted=True,
        chunks=report.chunks,
        entities_removed=report.entities_removed,
        relations_removed=report.relations_removed,
    )
