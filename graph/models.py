"""Typed records of the graph stage: what extraction emits (mentions) and what the store keeps.

Provenance lives at the mention level: an entity's aliases and per-source descriptions are the
names and descriptions of the mentions that point at it, keyed by chunk. Deleting a document
deletes its chunks, hence its mentions and relation evidence; whatever is left with no evidence
goes too. Nothing has to be recomputed from memory.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from pydantic import BaseModel, Field

# Labels and relationship types that came from an LLM are used in Cypher only if they match this.
SAFE_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def safe_type(raw: str, default: str = "RELATED_TO") -> str:
    """Normalise free-form type text to an UPPER_SNAKE identifier, or ``default`` if nothing is left."""
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", folded).strip("_").upper()
    if cleaned and cleaned[0].isdigit():
        cleaned = f"T_{cleaned}"
    cleaned = cleaned[:64]
    return cleaned if SAFE_TYPE.match(cleaned) else default


def stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()
    return f"{prefix}-{digest[:16]}"


class EntityMention(BaseModel):
    """One entity as one chunk mentions it."""

    name: str
    type: str = "CONCEPT"
    description: str = ""
    chunk_id: str
    doc_id: str
    # Other ways the document wrote this name ("Kennedy" for "John Fitzgerald Kennedy", see
    # graph/fusion/coref.py); each becomes an alias of the entity the mention resolves to.
    aliases: list[str] = Field(default_factory=list)


class RelationMention(BaseModel):
    """One relation as one chunk states it; endpoints are mention names of the same chunk."""

    source: str
    target: str
    type: str = "RELATED_TO"
    description: str = ""
    strength: float = Field(default=1.0, ge=0.0, le=10.0)
    chunk_id: str
    doc_id: str


class Extraction(BaseModel):
    """Everything extracted from one chunk, plus how the extraction went."""

    chunk_id: str
    entities: list[EntityMention] = Field(default_factory=list)
    relations: list[RelationMention] = Field(default_factory=list)
    status: str = "ok"  # ok | empty | repaired | failed
    error: str = ""


class EntityRecord(BaseModel):
    """A resolved entity as written: the store unions it with what it already has."""

    id: str
    name: str
    type: str
    description: str = ""
    embedding: list[float] | None = None


class MentionRecord(BaseModel):
    """``(Chunk)-[:MENTIONS {name, description}]->(Entity)``: the provenance of an entity."""

    chunk_id: str
    entity_id: str
    name: str
    description: str = ""


class RelationRecord(BaseModel):
    """One piece of evidence for ``(source)-[:RELATED {type}]->(target)`` from one chunk."""

    source_id: str
    target_id: str
    type: str
    chunk_id: str
    description: str = ""
    strength: float = 1.0

    @property
    def id(self) -> str:
        return stable_id("rel", self.source_id, self.target_id, self.type)


class Entity(BaseModel):
    """A resolved entity as read back, with everything its mentions contribute."""

    id: str
    name: str
    type: str
    description: str = ""
    aliases: list[str] = Field(default_factory=list)
    descriptions_by_source: dict[str, str] = Field(default_factory=dict)  # chunk id -> description
    mention_count: int = 0


class Relation(BaseModel):
    id: str
    source_id: str
    target_id: str
    type: str
    description: str = ""
    weight: float = 0.0  # number of evidence chunks
    evidence: list[str] = Field(default_factory=list)  # chunk ids
    descriptions: list[str] = Field(default_factory=list)  # one per evidence chunk, same order
    conflict: bool = False


class Community(BaseModel):
    id: str
    level: int
    title: str = ""
    summary: str = ""  # empty when no summary could be written (global search skips it)
    members: list[str] = Field(default_factory=list)  # entity ids (level 0) or child community ids
    parent_id: str | None = None
    stale: bool = False
    size: int = 0  # entities in the community, at every level below it
    chunk_count: int = 0  # chunks that mention one of those entities
    chunk_ids: list[str] = Field(default_factory=list)  # its most central chunks, best first (capped)
    entity_names: list[str] = Field(default_factory=list)  # its most connected entities' names (capped)
