"""Request and response models shared by the REST API and the CLI's ``--json`` output."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema, field_validator

from app.results import Answer, CommunityCited, DocumentSummary, Source
from retrieval.modes import MODE_NAMES


def _known_mode(value: str) -> str:
    if value not in MODE_NAMES:
        raise ValueError(f"unknown retrieval mode {value!r}; known: {', '.join(MODE_NAMES)}")
    return value


# The names come from retrieval/modes.py (declared once there); the schema lists them as an enum.
RetrievalMode = Annotated[
    str, AfterValidator(_known_mode), WithJsonSchema({"type": "string", "enum": list(MODE_NAMES)})
]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, pattern=r"\S", description="The question to answer (not only whitespace).")
    top_k: int | None = Field(
        default=None, ge=1, le=50, description="How many evidence chunks to cite; the configured top_k if unset."
    )
    mode: RetrievalMode | None = Field(default=None, description="Retrieval mode; the configured default if unset.")

    @field_validator("question")
    @classmethod
    def _encodable(cls, value: str) -> str:
        return require_unicode(value)


def require_unicode(value: str) -> str:
    """Refuse a lone surrogate: valid JSON, but no text any model can read."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the question is not valid Unicode text (lone surrogate)") from exc
    return value


class ErrorInfo(BaseModel):
    code: str = Field(description="Machine-readable kind, e.g. not_found, validation_error, forbidden.")
    message: str = Field(description="What went wrong, for people; never a server path, never the input echoed.")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="More about it: 'fields' (each invalid field's loc, msg, type) for validation_error, "
        "'allowed' methods for method_not_allowed, 'kind' (the AmalgamError class) for core errors.",
    )


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx the API returns."""

    error: ErrorInfo


# What each status means on the API, with an example body for the OpenAPI schema.
ERROR_MEANINGS: dict[int, tuple[str, str]] = {
    400: ("The request cannot be served as asked (e.g. an unknown mode).", "unknown retrieval mode 'x'"),
    401: ("Missing or wrong X-API-Key (only when the server has keys).", "missing or wrong X-API-Key"),
    403: (
        "The key may not do this: a read-only key writing, or a workspace outside the key's scope.",
        "this API key is read-only",
    ),
    404: ("No such workspace, document, job or entity.", "no workspace 'team-b'"),
    409: (
        "The resource is busy: a running job, or a workspace another write holds (an ingest, a job, a delete, here "
        "or in another process) for longer than the server waits (AMALGAM_API_WRITE_WAIT_SECONDS).",
        "job job-1 is running",
    ),
    413: ("The request body or an uploaded file is larger than the upload limit.", "request body exceeds 50 MB"),
    415: ("Unsupported file type.", "unsupported file type '.exe'; supported: .html, .jsonl, .md, .pdf, .txt"),
    422: ("Invalid request (details.fields says which field), or a file that could not be read.", "question: ..."),
    500: ("An unexpected server error (logged on the server).", "internal server error"),
    503: ("The graph store cannot be reached.", "cannot reach Neo4j at bolt://…"),
    507: ("The data dir cannot be written (full or read-only); what was finished is kept.", "no space left"),
}


def error_response(code: int, description: str = "") -> dict[str, object]:
    """One OpenAPI response entry in the error model, with an example."""
    from app.api.errors import code_for

    meaning, example = ERROR_MEANINGS[code]
    body = {"error": {"code": code_for(code), "message": example, "details": {}}}
    return {
        "model": ErrorBody,
        "description": description or meaning,
        "content": {"application/json": {"example": body}},
    }


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the error codes a route can return, so clients (and schemathesis) know them all."""
    return {code: error_response(code) for code in codes}


class AskResponse(Answer):
    """The HTTP shape of an answer (today the core ``Answer`` as is)."""


class SearchResponse(BaseModel):
    """Retrieval without an answer: the evidence, the question's linked entities and the relations between
    the evidence's entities."""

    question: str
    mode: str
    sources: list[Source] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    relations: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0
    communities: list[CommunityCited] = Field(
        default_factory=list, description="Global search: the communities the sources come from."
    )


class CommunityInfo(BaseModel):
    """One community of the graph's hierarchy, as listed to users."""

    id: str
    level: int = Field(description="0 = finest; each level above groups the one below.")
    title: str = Field(description="Its best-connected entities' names.")
    summary: str
    size: int = Field(description="Entities in it, at every level below.")
    entities: list[str] = Field(default_factory=list, description="Its best-connected entities' names (capped).")
    chunk_count: int = Field(description="Chunks that mention its entities.")


class CommunitiesResponse(BaseModel):
    communities: list[CommunityInfo] = Field(default_factory=list)


class DocumentInfo(DocumentSummary):
    """The HTTP shape of a listed document."""


class IngestResult(BaseModel):
    documents_new: int
    documents_unchanged: int
    documents_replaced: int
    chunks: int
    entities: int
    relations: int
    errors: list[dict[str, str]] = Field(default_factory=list)


class DeleteResult(BaseModel):
    doc_id: str
    deleted: bool
    chunks: int = 0
    entities_removed: int = 0
    relations_removed: int = 0


__all__ = [
    "AskRequest",
    "AskResponse",
    "CommunitiesResponse",
    "CommunityInfo",
    "DeleteResult",
    "DocumentInfo",
    "ErrorBody",
    "ErrorInfo",
    "error_response",
    "error_responses",
    "IngestResult",
    "RetrievalMode",
    "SearchResponse",
    "Source",
]
