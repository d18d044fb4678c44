"""Typed values the retrievers pass around and the one result type the retrieval stage returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field

from ingest.models import Chunk


class ScoredChunk(NamedTuple):
    chunk_id: str
    score: float


@dataclass(frozen=True)
class Query:
    """A question as every retriever sees it: its text and its embedding, computed once."""

    text: str
    embedding: np.ndarray  # shape (dim,), L2-normalised


@dataclass(frozen=True)
class EntityLink:
    """An entity of the graph that the question names ("alias") or is close to ("embedding")."""

    entity_id: str
    name: str
    score: float
    how: str  # "alias" or "embedding"


@runtime_checkable
class Retriever(Protocol):
    """One retrieval signal (dense, BM25, graph, TreeHop...). Returns chunk ids, best first."""

    name: str

    def search(self, query: Query, k: int) -> list[ScoredChunk]: ...


class Evidence(BaseModel):
    """A chunk chosen as evidence, with what a citation needs."""

    chunk: Chunk
    title: str = ""
    source: str = ""
    score: float = 0.0
    retrievers: list[str] = Field(default_factory=list)  # which signals found it
    entities: list[str] = Field(default_factory=list)  # names of entities the chunk mentions


class CommunityEvidence(BaseModel):
    """A community global search picked: its summary, and which evidence chunks it contributed."""

    id: str
    level: int
    title: str
    summary: str
    size: int = 0
    score: float = 0.0
    chunk_ids: list[str] = Field(default_factory=list)  # ids of the evidence chunks that came from it


class RetrievalResult(BaseModel):
    question: str
    mode: str
    evidence: list[Evidence] = Field(default_factory=list)
    communities: list[CommunityEvidence] = Field(default_factory=list)  # global search: what the evidence sums up
    entities: list[str] = Field(default_factory=list)  # entities linked from the question
    relations: list[str] = Field(default_factory=list)  # "A -[TYPE]-> B" between evidence entities
    notes: list[str] = Field(default_factory=list)  # e.g. "question truncated", "graph retriever abstained"
    latency_ms: float = 0.0
