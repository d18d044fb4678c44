"""Request and response models shared by the REST API and the CLI's ``--json`` output."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.results import Answer, DocumentSummary, Source

RetrievalMode = Literal["dense", "hybrid", "graph", "multihop", "auto"]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, description="The question to answer.")
    top_k: int | None = Field(
        default=None, ge=1, le=50, description="How many evidence chunks to cite; the configured top_k if unset."
    )
    mode: RetrievalMode | None = Field(default=None, description="Retrieval mode; the configured default if unset.")

    @field_validator("question")
    @classmethod
    def _encodable(cls, value: str) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: valid JSON, but no text any model can read
            raise ValueError("the question is not valid Unicode text (lone surrogate)") from exc
        return value


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
    "DeleteResult",
    "DocumentInfo",
    "IngestResult",
    "RetrievalMode",
    "SearchResponse",
    "Source",
]
