"""The ``GraphStore`` contract: what every graph backend (Neo4j, embedded SQLite) must do.

Semantics every implementation keeps (the contract tests in tests/integration check them):
- Everything is scoped to the store's workspace; two workspaces never see each other's data.
- Every write is an idempotent upsert by deterministic id; writing the same batch twice changes nothing.
- ``upsert_entities`` overwrites name/type/description/embedding of an entity; aliases and
  per-source descriptions are never written directly: they are read off the entity's mentions.
- ``upsert_relations`` adds one piece of evidence (a chunk) to ``(source)-[:RELATED {type}]->(target)``;
  the relation's weight is its number of evidence chunks.
- ``delete_document`` removes the document, its chunks, their mentions and relation evidence, then
  every entity left with no mention and every relation left with no evidence, and marks the
  communities of the affected entities stale.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from graph.models import Community, Entity, EntityRecord, MentionRecord, Relation, RelationRecord
from ingest.models import Chunk, Document


class EntityHit(BaseModel):
    entity: Entity
    score: float


class EntityName(BaseModel):
    """An entity's name and type alone: what retrieval needs to link and label it, read without its
    mentions (an entity named in thousands of chunks costs as little as any other)."""

    id: str
    name: str
    type: str


class NameMatch(BaseModel):
    """An entity found by name, with the asked names (casefolded) that its name or a mention uses."""

    entity: EntityName
    matched: list[str]


class Subgraph(BaseModel):
    """The part of the graph around some seed entities, in the shape PPR needs."""

    entity_ids: list[str] = Field(default_factory=list)
    chunk_ids: list[str] = Field(default_factory=list)
    mentions: list[tuple[str, str]] = Field(default_factory=list)  # (chunk_id, entity_id), in no set order
    relations: list[tuple[str, str, float]] = Field(default_factory=list)  # (source_id, target_id, weight)


class DeleteReport(BaseModel):
    doc_id: str
    found: bool = False
    chunks: int = 0
    mentions: int = 0
    entities_removed: int = 0
    relations_removed: int = 0
    affected_entity_ids: list[str] = Field(default_factory=list)  # surviving entities that lost evidence


class ChunkTitle(NamedTuple):
    """The document a chunk belongs to, and that document's title: the heading the chunk is read under."""

    doc_id: str
    title: str


class StoreStats(BaseModel):
    documents: int = 0
    chunks: int = 0
    entities: int = 0
    relations: int = 0
    mentions: int = 0
    communities: int = 0


@runtime_checkable
class GraphStore(Protocol):
    workspace: str

    def close(self) -> None: ...

    # -- writes ----------------------------------------------------------------------------------
    def upsert_documents(self, docs: Sequence[Document]) -> None: ...

    def upsert_chunks(self, chunks: Sequence[Chunk]) -> None:
        """Write chunks (and ``NEXT`` links between consecutive chunks of a document). Their vectors live in
        the workspace's FAISS index, which serves dense search; the graph store keeps text and structure."""
        ...

    def upsert_entities(self, entities: Sequence[EntityRecord]) -> None: ...

    def upsert_mentions(self, mentions: Sequence[MentionRecord]) -> None: ...

    def upsert_relations(self, relations: Sequence[RelationRecord]) -> None: ...

    def set_relation_conflicts(self, relation_ids: Sequence[str], conflict: bool) -> None: ...

    def upsert_communities(self, communities: Sequence[Community]) -> None: ...

    def replace_communities(self, communities: Sequence[Community]) -> None:
        """Drop every community of the workspace, then write these (a full rebuild)."""
        ...

    def update_communities(self, communities: Sequence[Community], removed_ids: Sequence[str]) -> None:
        """Drop the communities ``removed_ids`` and write these, in one transaction (a partial refresh)."""
        ...

    def delete_document(self, doc_id: str) -> DeleteReport: ...

    def delete_unmentioned_entities(self) -> int:
        """Remove the entities that no chunk mentions, with their relations and community memberships; how many.

        Entities and their mentions are written in two transactions, so a write interrupted between them leaves
        entities without mentions. The ingest calls this before it redoes an interrupted document, so that the
        resolver does not meet them and the redo ends in the graph of an uninterrupted run."""
        ...

    def clear(self) -> None:
        """Delete everything in this workspace (and nothing outside it)."""
        ...

    # -- reads -----------------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> Document | None: ...

    def find_document_by_source(self, source: str) -> Document | None: ...

    def get_documents(self, doc_ids: Sequence[str]) -> list[Document]:
        """Documents in the order asked for, with ``text`` left empty; unknown ids are skipped."""
        ...

    def find_documents_by_source(self, sources: Sequence[str]) -> list[Document]:
        """Every document whose source is one of ``sources``, ordered by (source, id), ``text`` left empty."""
        ...

    def list_documents(self) -> list[Document]:
        """Every document, with ``text`` left empty (it can be large)."""
        ...

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Chunks in the order asked for; unknown ids are skipped."""
        ...

    def chunks_of_document(self, doc_id: str) -> list[Chunk]: ...

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]: ...

    def get_entities(self, entity_ids: Sequence[str]) -> list[Entity]: ...

    def find_entities(self, names: Sequence[str]) -> list[Entity]:
        """Entities whose name or an alias equals one of ``names``, ignoring case."""
        ...

    def entity_names(self, entity_ids: Sequence[str]) -> list[EntityName]:
        """Name and type of each entity, in the order asked for (unknown ids are skipped); no mentions read."""
        ...

    def find_entity_names(self, names: Sequence[str]) -> list[NameMatch]:
        """``find_entities`` without the mentions, ordered by id: each entity with the names that matched it."""
        ...

    def nearest_entities(self, embedding: Sequence[float], k: int) -> list[tuple[str, float]]:
        """``(entity id, cosine)`` of the ``k`` entities nearest ``embedding``, best first; no entity read."""
        ...

    def iter_entities(self, batch_size: int = 1000) -> Iterator[Entity]: ...

    def relations_of(self, entity_ids: Sequence[str]) -> list[Relation]:
        """Relations with either endpoint in ``entity_ids``."""
        ...

    def relations_between(self, entity_ids: Sequence[str]) -> list[Relation]:
        """Relations with both endpoints in ``entity_ids``, ordered by id: what connects a set of entities,
        without reading every relation of a hub among them."""
        ...

    def entities_of_chunks(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]: ...

    def titles_of_chunks(self, chunk_ids: Sequence[str]) -> dict[str, ChunkTitle]:
        """Each chunk's document id and title (unknown chunks left out), without reading any text."""
        ...

    def entity_vectors(self, entity_ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored embedding of each entity that has one (entities without one are left out)."""
        ...

    def vector_search_entities(self, embedding: Sequence[float], k: int) -> list[EntityHit]: ...

    def vector_search_entities_batch(self, embeddings: Sequence[Sequence[float]], k: int) -> list[list[EntityHit]]:
        """``vector_search_entities`` for many query vectors in one read: one hit list per vector."""
        ...

    def subgraph(self, seed_entity_ids: Sequence[str], hops: int = 2, limit: int = 5000) -> Subgraph:
        """Entities within ``hops`` RELATED/co-mention steps of the seeds, with their chunks, in one read."""
        ...

    def get_communities(self, level: int | None = None) -> list[Community]: ...

    def stats(self) -> StoreStats: ...
