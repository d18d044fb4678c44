"""Request and response models shared by the REST API and the CLI's ``--json`` output."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RetrievalMode = Literal["dense", "hybrid", "graph", "multihop", "auto"]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, description="The question to answer.")
    top_k: int = Field(default=5, ge=1, le=50, description="How many evidence chunks to cite.")
    mode: RetrievalMode | None = Field(default=None, description="Retrieval mode; the configured default if unset.")


class Source(BaseModel):
    """One cited piece of evidence: where it comes from and how strongly it was retrieved."""

    doc_id: str
    chunk_id: str
    title: str
    source: str = ""
    page: int | None = Field(default=None, description="First page of the chunk (1-based), null without pages.")
    pages: list[int] = Field(default_factory=list, description="Every page the chunk spans.")
    text: str
    score: float


class AskResponse(BaseModel):
    question: str
    answer: str
    mode: str
    sources: list[Source] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    generated_by: str = Field(default="extractive", description="'extractive' or the LLM model name.")


class DocumentInfo(BaseModel):
    id: str
    title: str
    source: str
    hash: str
    pages: int = 0


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
