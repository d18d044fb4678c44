"""What both graph stores share: input validation and assembling read models from raw rows.

Keeping these in one place is what makes the embedded and the Neo4j store return identical
``Entity`` and ``Relation`` objects for the same writes (the contract tests compare them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graph.errors import GraphStoreError
from graph.models import SAFE_TYPE, Entity, EntityRecord, MentionRecord, Relation, RelationRecord
from ingest.models import Document

# Indexed string properties are bounded: Neo4j refuses an index entry over ~8 KB ("Property value is
# too large to index") and fails the whole transaction. Both stores refuse a longer value up front,
# with a message that names it, so they behave alike and nothing is half written.
MAX_INDEXED_BYTES = 4096


def check_indexed(value: str, what: str) -> None:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_INDEXED_BYTES:
        raise GraphStoreError(
            f"{what} is {size} bytes long; the store indexes at most {MAX_INDEXED_BYTES}: {value[:80]!r}…"
        )


def check_documents(docs: Sequence[Document]) -> None:
    for doc in docs:
        check_indexed(doc.id, "document id")
        check_indexed(doc.source, "document source")


def check_mentions(mentions: Sequence[MentionRecord]) -> None:
    for mention in mentions:
        check_indexed(mention.name, f"mention name of entity {mention.entity_id[:80]!r}")


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
        check_indexed(entity.id, "entity id")
        check_indexed(entity.name, "entity name")
        if not SAFE_TYPE.match(entity.type):
            raise GraphStoreError(f"entity {entity.id!r} has an unsafe type {entity.type!r}")
        if entity.embedding is not None and len(entity.embedding) != dim:
            raise GraphStoreError(
                f"entity {entity.id!r} embedding has {len(entity.embedding)} dimensions; the store expects {dim}"
            )


def check_relations(relations: Sequence[RelationRecord]) -> None:
    for relation in relations:
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
