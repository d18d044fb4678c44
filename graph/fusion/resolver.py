"""Entity resolution across the whole workspace: extractions in, resolved records out.

``EntityResolver.resolve`` turns the mentions of a batch of chunks into entity, mention and
relation records, merging each mention into a stored entity when it is the same thing and into
new entities otherwise (see cluster.py for how). It only reads the store; ``write`` applies a
result (upserts, then conflict flags), and every write is an idempotent upsert by stable id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
from pydantic import BaseModel, Field

from graph.fusion.blocking import candidate_pairs
from graph.fusion.candidates import neighbour_keys, stored_candidates
from graph.fusion.cluster import Group, MentionItem, StoredItem, cluster_groups, group_by_name
from graph.fusion.coref import link_names, with_aliases
from graph.fusion.descriptions import Summarize, fuse_descriptions
from graph.fusion.mention_vectors import MentionVectors
from graph.fusion.naming import type_label
from graph.fusion.normalize import normalize_name
from graph.fusion.relations import RelationKey, find_conflicts, merge_parallel
from graph.fusion.resolved import Resolved, build_entities
from graph.fusion.scoring import ScoreWeights, pair_score
from graph.models import Entity, EntityRecord, Extraction, MentionRecord, RelationRecord, safe_type
from graph.store.base import GraphStore
from ingest.embedder import Embedder

T = TypeVar("T")

DEFAULT_THRESHOLD = 0.86


class FusionResult(BaseModel):
    entities: list[EntityRecord] = Field(default_factory=list)
    mentions: list[MentionRecord] = Field(default_factory=list)
    relations: list[RelationRecord] = Field(default_factory=list)
    conflicting_relation_ids: list[str] = Field(default_factory=list)
    mentions_in: int = 0  # entity mentions read from the extractions (plus implicit relation endpoints)
    entities_new: int = 0
    entities_existing: int = 0  # stored entities that received new mentions
    relations_dropped: int = 0  # self-loops after resolution


class _Mention(BaseModel):
    chunk_id: str
    name: str
    type: str
    description: str = ""


def flatten_mentions(extractions: Sequence[Extraction]) -> list[_Mention]:
    """Every entity mention, plus relation endpoints that no entity mention of the chunk names."""
    mentions: list[_Mention] = []
    for extraction in extractions:
        named: set[str] = set()
        for entity in extraction.entities:
            if normalize_name(entity.name):
                mentions.append(
                    _Mention(
                        chunk_id=extraction.chunk_id,
                        name=" ".join(entity.name.split()),
                        type=safe_type(entity.type, "CONCEPT"),
                        description=entity.description.strip(),
                    )
                )
                named.add(entity.name.strip().casefold())
        for relation in extraction.relations:
            for endpoint in (relation.source, relation.target):
                if normalize_name(endpoint) and endpoint.strip().casefold() not in named:
                    named.add(endpoint.strip().casefold())
                    mentions.append(
                        _Mention(chunk_id=extraction.chunk_id, name=" ".join(endpoint.split()), type="CONCEPT")
                    )
    return mentions


class EntityResolver:
    def __init__(
        self,
        store: GraphStore,
        embedder: Embedder | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        summarize: Summarize | None = None,
        weights: ScoreWeights = ScoreWeights(),
        vector_candidates: int = 3,
        mention_vectors: MentionVectors | None = None,
    ) -> None:
        self.store, self.embedder, self.threshold = store, embedder, threshold
        self.summarize, self.weights, self.vector_candidates = summarize, weights, vector_candidates
        # Context vectors pooled from the chunks' encoder pass (mention_vectors.py); a mention without
        # one has its "name: description" text encoded instead.
        self.mention_vectors = mention_vectors if embedder is not None else None
        self._vectors: dict[str, np.ndarray] = {}
        self._stored_entities: list[Entity] = []

    # -- public ----------------------------------------------------------------------------------
    def resolve(self, extractions: Sequence[Extraction]) -> FusionResult:
        extractions = link_names(extractions)  # "Kennedy" after "John F. Kennedy" is him (coref.py)
        mentions = flatten_mentions(extractions)
        self._vectors = {}  # per call: a cache across batches would grow without bound
        if not mentions:
            return FusionResult()
        items = self._mention_items(mentions)
        stored = self._stored_items(items)
        groups = group_by_name(items, list(stored.values()), self.weights)
        components = self._cluster(groups)
        resolved = build_entities(
            groups,
            components,
            [(m.chunk_id, m.name, m.type, m.description) for m in mentions],
            {entity.id: entity for entity in self._stored_entities},
            self.summarize,
        )
        entities = self._with_embeddings(resolved, items, mentions)
        relations, dropped = self._relations(extractions, resolved)
        return FusionResult(
            entities=entities,
            mentions=with_aliases(resolved.mentions, extractions),
            relations=relations,
            conflicting_relation_ids=sorted(self._conflicts(relations)),
            mentions_in=len(mentions),
            entities_new=resolved.new_count,
            entities_existing=len(entities) - resolved.new_count,
            relations_dropped=dropped,
        )

    def write(self, result: FusionResult) -> None:
        """Apply a result: entities, then mentions and relations, then conflict flags."""
        self.store.upsert_entities(result.entities)
        self.store.upsert_mentions(result.mentions)
        self.store.upsert_relations(result.relations)
        if result.conflicting_relation_ids:
            self.store.set_relation_conflicts(result.conflicting_relation_ids, True)

    # -- steps -----------------------------------------------------------------------------------
    def _embed(self, texts: Sequence[str]) -> list[np.ndarray] | None:
        """Embed texts; each distinct text is encoded once per resolver (the model dominates the cost)."""
        if self.embedder is None or not texts:
            return None
        missing = sorted(set(texts) - self._vectors.keys())
        if missing:
            self._vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        return [self._vectors[text] for text in texts]

    def _known_or_encoded(
        self, items: Sequence[T], known: Callable[[T], np.ndarray | None], text: Callable[[T], str]
    ) -> list[np.ndarray]:
        """Each item's vector: the one it already has (pooled or stored), else its text encoded."""
        vectors = [known(item) for item in items]
        missing = [i for i, vector in enumerate(vectors) if vector is None]
        encoded = dict(zip(missing, self._embed([text(items[i]) for i in missing]) or [], strict=True))
        return [vector if vector is not None else encoded[i] for i, vector in enumerate(vectors)]

    def _mention_items(self, mentions: Sequence[_Mention]) -> list[MentionItem]:
        keys_by_chunk: dict[str, set[str]] = {}
        for mention in mentions:
            keys_by_chunk.setdefault(mention.chunk_id, set()).add(normalize_name(mention.name))
        context = self._context_vectors(mentions)
        return [
            MentionItem(
                index=i,
                name=m.name,
                entity_type=m.type,
                description=m.description,
                neighbours=frozenset(keys_by_chunk[m.chunk_id] - {normalize_name(m.name)}),
                embedding=context.get(i),
            )
            for i, m in enumerate(mentions)
        ]

    def _context_vectors(self, mentions: Sequence[_Mention]) -> dict[int, np.ndarray]:
        """Each described mention's context vector: pooled from the chunk pass, else its text encoded."""
        context: dict[int, np.ndarray] = {}
        if self.embedder is None:
            return context
        to_encode = []
        for i, m in enumerate(mentions):
            pooled = self.mention_vectors.get(m.chunk_id, m.name, m.description) if self.mention_vectors else None
            if pooled is not None:
                context[i] = pooled
            elif m.description:
                to_encode.append(i)
        vectors = self._embed([f"{mentions[i].name}: {mentions[i].description}" for i in to_encode]) or []
        context.update(zip(to_encode, vectors, strict=True))
        return context

    def _stored_items(self, items: Sequence[MentionItem]) -> dict[str, StoredItem]:
        first_by_key: dict[str, MentionItem] = {}
        for item in items:
            first_by_key.setdefault(normalize_name(item.name), item)
        query = None
        if self.embedder is not None and self.vector_candidates > 0:
            firsts = list(first_by_key.values())
            vectors = self._known_or_encoded(firsts, lambda i: i.embedding, _described)
            query = np.vstack(vectors) if vectors else None
        names = sorted({item.name for item in items})
        self._stored_entities = stored_candidates(self.store, names, query, k=self.vector_candidates)
        neighbours = neighbour_keys(self.store, self._stored_entities)
        embedding = self._stored_vectors([e for e in self._stored_entities if e.description])
        return {
            e.id: StoredItem(
                entity_id=e.id,
                names=[e.name, *[a for a in e.aliases if a != e.name]],
                entity_type=e.type,
                has_context=e.id in embedding,
                neighbours=neighbours.get(e.id, frozenset()),
                embedding=embedding.get(e.id),
                description=e.description,
            )
            for e in self._stored_entities
        }

    def _cluster(self, groups: Sequence[Group]) -> list[list[int]]:
        views = [group.view() for group in groups]
        # Nearest neighbours over the groups' name+description vectors (the name is in the text);
        # groups without a description get their name embedded so they can still be found.
        name_vectors = None
        if self.embedder is not None and views:
            name_vectors = np.vstack(
                self._known_or_encoded(
                    views, lambda v: v.embedding, lambda v: f"{v.names[0]} ({type_label(v.entity_type)})"
                )
            )
        pairs = candidate_pairs(views, name_vectors)
        return cluster_groups(groups, pairs, lambda a, b: pair_score(a, b, self.weights), self.threshold)

    def _stored_vectors(self, entities: Sequence[Entity]) -> dict[str, np.ndarray]:
        """Stored entities' vectors as stored; an entity stored without one has its text encoded."""
        if self.embedder is None or not entities:
            return {}
        found = {
            i: np.asarray(v, dtype=np.float32) for i, v in self.store.entity_vectors([e.id for e in entities]).items()
        }
        vectors = self._known_or_encoded(entities, lambda e: found.get(e.id), lambda e: f"{e.name}: {e.description}")
        return {e.id: v for e, v in zip(entities, vectors, strict=True)}

    def _with_embeddings(
        self, resolved: Resolved, items: Sequence[MentionItem], mentions: Sequence[_Mention]
    ) -> list[EntityRecord]:
        """Entity vectors: with pooled mention vectors, the running mean of the entity's mention vectors
        (the stored vector counts for its earlier mentions); otherwise "name: description" encoded."""
        entities = resolved.entities
        if self.embedder is None:
            return entities
        sums = self._mention_sums(resolved, items, mentions) if self.mention_vectors is not None else {}
        stored = {e.id: e for e in self._stored_entities}
        stored_vectors = self._stored_vectors([stored[i] for i in sums if i in stored])

        def running_mean(entity: EntityRecord) -> np.ndarray | None:
            if entity.id not in sums:
                return None
            total = sums[entity.id]
            if entity.id in stored_vectors:
                total = total + stored_vectors[entity.id] * max(stored[entity.id].mention_count, 1)
            return total / np.linalg.norm(total)  # type: ignore[no-any-return]

        vectors = self._known_or_encoded(entities, running_mean, _described)
        return [_with_vector(e, v) for e, v in zip(entities, vectors, strict=True)]

    @staticmethod
    def _mention_sums(
        resolved: Resolved, items: Sequence[MentionItem], mentions: Sequence[_Mention]
    ) -> dict[str, np.ndarray]:
        """Per entity, the sum of the context vectors of its mentions in this batch."""
        vector_of = {
            (m.chunk_id, m.name, m.description): item.embedding
            for m, item in zip(mentions, items, strict=True)
            if item.embedding is not None
        }
        sums: dict[str, np.ndarray] = {}
        for record in resolved.mentions:
            vector = vector_of.get((record.chunk_id, record.name, record.description))
            if vector is not None:
                sums[record.entity_id] = sums.get(record.entity_id, 0) + vector
        return sums

    def _relations(self, extractions: Sequence[Extraction], resolved: Resolved) -> tuple[list[RelationRecord], int]:
        records: list[RelationRecord] = []
        for extraction in extractions:
            for relation in extraction.relations:
                source = resolved.entity_of(extraction.chunk_id, relation.source)
                target = resolved.entity_of(extraction.chunk_id, relation.target)
                if source is None or target is None:
                    continue
                records.append(
                    RelationRecord(
                        source_id=source,
                        target_id=target,
                        type=safe_type(relation.type),
                        chunk_id=extraction.chunk_id,
                        description=relation.description.strip(),
                        strength=relation.strength,
                    )
                )
        merged = merge_parallel(records)
        self_loops = sum(1 for r in records if r.source_id == r.target_id)
        return merged, self_loops

    def _conflicts(self, relations: Sequence[RelationRecord]) -> set[str]:
        if not relations:
            return set()
        keys = {r.id: RelationKey(r.id, r.source_id, r.target_id, r.type) for r in relations}
        endpoints = sorted({r.source_id for r in relations} | {r.target_id for r in relations})
        for stored in self.store.relations_of(endpoints):
            keys.setdefault(stored.id, RelationKey(stored.id, stored.source_id, stored.target_id, stored.type))
        return find_conflicts(list(keys.values()))


def _described(item: MentionItem | EntityRecord) -> str:
    """The text encoded for a mention or entity without a vector: its name, with its description if any."""
    return f"{item.name}: {item.description}" if item.description else item.name


def _with_vector(entity: EntityRecord, vector: np.ndarray) -> EntityRecord:
    return entity.model_copy(update={"embedding": vector.astype(float).tolist()})


def _name_still_used(entity: Entity) -> bool:
    """Whether some surviving mention still uses the entity's name (ignoring a "(qualifier)")."""
    base = normalize_name(re.sub(r"\s*\([^)]*\)$", "", entity.name))
    return not entity.aliases or any(normalize_name(alias) == base for alias in entity.aliases)


def refresh_entities(
    store: GraphStore,
    entity_ids: Sequence[str],
    summarize: Summarize | None = None,
    embedder: Embedder | None = None,
) -> list[EntityRecord]:
    """Recompute fused descriptions (and names, if the old name lost its last mention) after a delete."""
    records: list[EntityRecord] = []
    for entity in store.get_entities(list(entity_ids)):
        name = entity.name if _name_still_used(entity) else sorted(entity.aliases)[0]
        description = fuse_descriptions(name, list(entity.descriptions_by_source.values()), summarize)
        records.append(EntityRecord(id=entity.id, name=name, type=entity.type, description=description))
    if embedder is not None and records:
        vectors = embedder.embed([f"{r.name}: {r.description}" if r.description else r.name for r in records])
        records = [
            r.model_copy(update={"embedding": v.astype(float).tolist()}) for r, v in zip(records, vectors, strict=True)
        ]
    store.upsert_entities(records)
    return records
