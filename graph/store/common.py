"""What both graph stores share: input validation and assembling read models from raw rows.

Keeping these in one place is what makes the embedded and the Neo4j store return identical
``Entity`` and ``Relation`` objects for the same writes (the contract tests compare them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from graph.errors import GraphStoreError
from graph.models import SAFE_TYPE, Community, Entity, EntityRecord, MentionRecord, Relation, RelationRecord
from ingest.models import MAX_ID_CHARS, MAX_SOURCE_CHARS, MAX_TITLE_CHARS, Document

# Names are indexed (Entity.name_lc, MENTIONS.name_lc). Neo4j refuses an indexed string over ~8 KB
# and loses the whole write batch with it; both stores refuse longer values up front, alike.
MAX_NAME_CHARS = 1024


def check_length(value: str, limit: int, what: str) -> None:
    """``GraphStoreError`` naming ``what`` when ``value`` is longer than ``limit`` characters."""
    if len(value) > limit:
        raise GraphStoreError(f"{what} too long ({len(value)} characters; at most {limit})")


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def check_documents(documents: Sequence[Document]) -> None:
    """Reject the whole batch before anything is written when an id, source or title is too long
    (a ``Document`` built with ``model_copy``/``model_construct`` skips its own validation)."""
    for doc in documents:
        check_length(doc.id, MAX_ID_CHARS, f"document id {_short(doc.id)}")
        check_length(doc.source, MAX_SOURCE_CHARS, f"document {_short(doc.id)} source")
        check_length(doc.title, MAX_TITLE_CHARS, f"document {_short(doc.id)} title")


def check_mentions(mentions: Sequence[MentionRecord]) -> None:
    for mention in mentions:
        check_length(mention.name, MAX_NAME_CHARS, f"mention name {_short(mention.name)}")


def check_vectors(
    vectors: Sequence[Sequence[float]] | None, count: int, dim: int, what: str
) -> list[list[float]] | None:
    """Vectors as plain float lists, after checking their number and dimension."""
    if vectors is None:
        return None
    if len(vectors) != count:
        raise GraphStoreError(f"{len(vectors)} {what} embeddings for {count} {what}s")
    checked = [list(map(float, vector)) for vector in vectors]
    for vector in checked:
        if len(vector) != dim:
            raise GraphStoreError(f"{what} embedding has {len(vector)} dimensions; the store expects {dim}")
    return checked


def check_query_vector(vector: Sequence[float], dim: int) -> list[float]:
    if len(vector) != dim:
        raise GraphStoreError(f"query embedding has {len(vector)} dimensions; the store expects {dim}")
    return list(map(float, vector))


def check_entities(entities: Sequence[EntityRecord], dim: int) -> None:
    """Reject the whole batch before anything is written: types may come from an LLM."""
    for entity in entities:
        check_length(entity.id, MAX_ID_CHARS, f"entity id {_short(entity.id)}")
        check_length(entity.name, MAX_NAME_CHARS, f"entity {_short(entity.id)} name")
        if not SAFE_TYPE.match(entity.type):
            raise GraphStoreError(f"entity {entity.id!r} has an unsafe type {entity.type!r}")
        if entity.embedding is not None and len(entity.embedding) != dim:
            raise GraphStoreError(
                f"entity {entity.id!r} embedding has {len(entity.embedding)} dimensions; the store expects {dim}"
            )


def check_relations(relations: Sequence[RelationRecord]) -> None:
    for relation in relations:
        for identifier in (relation.id, relation.source_id, relation.target_id, relation.chunk_id):
            check_length(identifier, MAX_ID_CHARS, f"relation id {_short(identifier)}")
        if not SAFE_TYPE.match(relation.type):
            raise GraphStoreError(f"relation {relation.id!r} has an unsafe type {relation.type!r}")


def build_entity(
    entity_id: str, name: str, type_: str, description: str, mentions: Iterable[tuple[str, str, str]]
) -> Entity:
    """An entity read back; ``mentions`` are its ``(chunk_id, name, description)`` rows.

    Aliases are every mention name, its own name included when a mention uses it (distinct ignoring
    case, sorted): an entity whose name no mention uses any more can tell. Per-source descriptions
    keep the longest non-empty description of each chunk; ``mention_count`` counts chunks.
    """
    aliases: dict[str, str] = {}
    by_source: dict[str, str] = {}
    chunks: set[str] = set()
    for chunk_id, mention_name, mention_description in sorted(mentions):
        chunks.add(chunk_id)
        aliases.setdefault(mention_name.casefold(), mention_name)
        if mention_description and len(mention_description) > len(by_source.get(chunk_id, "")):
            by_source[chunk_id] = mention_description
    return Entity(
        id=entity_id,
        name=name,
        type=type_,
        description=description,
        aliases=sorted(aliases.values()),
        descriptions_by_source=dict(sorted(by_source.items())),
        mention_count=len(chunks),
    )


def build_relation(
    relation_id: str,
    source_id: str,
    target_id: str,
    type_: str,
    conflict: bool,
    evidence: Iterable[tuple[str, str]],
) -> Relation:
    """A relation read back from its ``(chunk_id, description)`` evidence, ordered by chunk id.

    ``description`` is the longest evidence description: the most informative single statement.
    """
    ordered = sorted(evidence)
    descriptions = [description for _, description in ordered]
    return Relation(
        id=relation_id,
        source_id=source_id,
        target_id=target_id,
        type=type_,
        description=max(descriptions, key=len, default=""),
        weight=float(len(ordered)),
        evidence=[chunk_id for chunk_id, _ in ordered],
        descriptions=descriptions,
        conflict=conflict,
    )


COMMUNITY_DETAILS = ("size", "chunk_count", "chunk_ids", "entity_names")


def community_details(community: Community) -> dict[str, Any]:
    """What retrieval reads of a community besides its id, level, title, summary and links: stored as
    properties (Neo4j) or one JSON column (embedded), read back into the same ``Community``."""
    return {name: getattr(community, name) for name in COMMUNITY_DETAILS}
