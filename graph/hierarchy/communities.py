"""Hierarchical communities over the entity graph, bottom-up with Leiden.

The graph: entities, linked by RELATED (weight = evidence chunks) plus co-mention in a chunk
(weight 1 per chunk). Level 0 is Leiden at the finest resolution; each next level runs Leiden on
the previous level's aggregate graph at half the resolution, until nothing merges any more.
Every community is written with its members (entities at level 0, child communities above) and
its parent; ``replace_communities`` swaps the whole set at once, which also clears stale marks.
Each also carries what retrieval reads without walking the graph: its size (entities at every level
below), how many chunks mention them, its most central chunks and its best-connected entities' names.

A community's id is a hash of its level and its entities, so a community that an ingest did not
change keeps its id; with an LLM summariser, its summary is then reused instead of written again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from graph.hierarchy.central import central_chunks
from graph.hierarchy.summaries import (
    Summarize,
    SummaryTally,
    best_connected,
    community_facts,
    community_title,
    summarize_community,
)
from graph.models import Community, Entity, Relation, stable_id
from graph.store.base import GraphStore

MAX_CO_MENTIONS_PER_CHUNK = 30  # a chunk naming more entities than this says little about each pair


class EntityGraph:
    """The weighted, undirected entity graph as Leiden needs it."""

    def __init__(
        self,
        entities: list[Entity],
        relations: list[Relation],
        co_mentions: dict[tuple[str, str], float],
        chunk_entities: dict[str, list[str]] | None = None,
        chunk_docs: dict[str, str] | None = None,
    ):
        self.entities = entities
        self.chunk_entities = chunk_entities or {}  # chunk id -> entity ids it mentions
        self.chunk_docs = chunk_docs or {}  # chunk id -> document id
        self.relations = relations
        self.index = {e.id: i for i, e in enumerate(entities)}
        weights: dict[tuple[int, int], float] = defaultdict(float)
        for relation in relations:
            a, b = self.index.get(relation.source_id), self.index.get(relation.target_id)
            if a is not None and b is not None and a != b:
                weights[(min(a, b), max(a, b))] += max(relation.weight, 1.0)
        for (left, right), weight in co_mentions.items():
            a, b = self.index.get(left), self.index.get(right)
            if a is not None and b is not None and a != b:
                weights[(min(a, b), max(a, b))] += weight
        self.edges = sorted(weights)
        self.weights = [weights[edge] for edge in self.edges]
        self.degree: dict[str, float] = defaultdict(float)
        for (a, b), weight in zip(self.edges, self.weights, strict=True):
            self.degree[entities[a].id] += weight
            self.degree[entities[b].id] += weight


def load_entity_graph(store: GraphStore, batch_size: int = 1000) -> EntityGraph:
    entities = sorted(store.iter_entities(batch_size), key=lambda e: e.id)
    ids = [e.id for e in entities]
    relations: dict[str, Relation] = {}
    for start in range(0, len(ids), batch_size):
        for relation in store.relations_of(ids[start : start + batch_size]):
            relations[relation.id] = relation
    chunk_docs = {chunk.id: chunk.doc_id for chunk in store.iter_chunks(batch_size)}
    chunk_ids = list(chunk_docs)
    chunk_entities: dict[str, list[str]] = {}
    for start in range(0, len(chunk_ids), batch_size):
        for chunk_id, members in store.entities_of_chunks(chunk_ids[start : start + batch_size]).items():
            chunk_entities[chunk_id] = sorted(set(members))
    return EntityGraph(
        entities, [relations[k] for k in sorted(relations)], co_mentions(chunk_entities), chunk_entities, chunk_docs
    )


def co_mentions(chunk_entities: dict[str, list[str]]) -> dict[tuple[str, str], float]:
    """Pairs of entities named by the same chunk (weight 1 per chunk); ``chunk_entities`` lists are sorted."""
    pairs: dict[tuple[str, str], float] = defaultdict(float)
    for members in chunk_entities.values():
        for left, right in combinations(members[:MAX_CO_MENTIONS_PER_CHUNK], 2):
            pairs[(left, right)] += 1.0
    return pairs


def leiden_levels(graph: EntityGraph, seed: int = 42, resolution: float = 1.0, max_levels: int = 4) -> list[list[int]]:
    """Membership of every entity at each level (level 0 finest); isolated entities are left out later."""
    import igraph as ig
    import leidenalg

    current: Any = ig.Graph(n=len(graph.entities), edges=graph.edges)
    current.es["weight"] = graph.weights
    leaf_membership = list(range(len(graph.entities)))
    levels: list[list[int]] = []
    for level in range(max_levels):
        partition = leidenalg.find_partition(
            current,
            leidenalg.RBConfigurationVertexPartition,
            weights="weight",
            resolution_parameter=resolution / (2**level),
            seed=seed,
        )
        membership = list(partition.membership)
        if levels and len(set(membership)) == current.vcount():
            break  # nothing merged: the hierarchy is complete
        leaf_membership = [membership[node] for node in leaf_membership]
        levels.append(leaf_membership)
        if len(set(membership)) <= 1:
            break
        current = partition.cluster_graph(combine_edges={"weight": "sum"})
    return levels


def _build(
    graph: EntityGraph,
    levels: list[list[int]],
    summarize: Summarize | None,
    reuse: dict[str, str],
    tally: SummaryTally,
) -> list[Community]:
    connected = {graph.entities[a].id for a, _ in graph.edges} | {graph.entities[b].id for _, b in graph.edges}
    context = RecordContext.of(graph, summarize, reuse, tally)
    communities: list[Community] = []
    previous: dict[int, Community] = {}
    previous_membership: list[int] = []
    for level, membership in enumerate(levels):
        leaves: dict[int, list[Entity]] = defaultdict(list)
        for node, label in enumerate(membership):
            if graph.entities[node].id in connected:
                leaves[label].append(graph.entities[node])
        current: dict[int, Community] = {}
        for label, members in sorted(leaves.items()):
            if level == 0:
                member_ids = sorted(e.id for e in members)
            else:
                children = {previous_membership[graph.index[e.id]] for e in members}
                member_ids = sorted(previous[c].id for c in children if c in previous)
            current[label] = context.record(level, members, member_ids)
        if level > 0:
            for node, label in enumerate(membership):
                child = previous.get(previous_membership[node])
                if child is not None and label in current:
                    child.parent_id = current[label].id
        communities.extend(current.values())
        previous, previous_membership = current, membership
    return communities


@dataclass
class RecordContext:
    """What building one community's record reads: every entity's degree, chunks and outgoing relations,
    each chunk's entities and document, and how summaries are written (``reuse``: summaries already
    written, by community id)."""

    degree: dict[str, float]
    chunk_entities: dict[str, list[str]]
    chunk_docs: dict[str, str]
    chunks_of: dict[str, list[str]]
    relations_from: dict[str, list[Relation]]
    summarize: Summarize | None
    reuse: dict[str, str]
    tally: SummaryTally

    @classmethod
    def of(
        cls, graph: EntityGraph, summarize: Summarize | None, reuse: dict[str, str], tally: SummaryTally
    ) -> RecordContext:
        return cls.around(
            graph.degree, graph.chunk_entities, graph.chunk_docs, graph.relations, summarize, reuse, tally
        )

    @classmethod
    def around(
        cls,
        degree: dict[str, float],
        chunk_entities: dict[str, list[str]],
        chunk_docs: dict[str, str],
        relations: Sequence[Relation],
        summarize: Summarize | None,
        reuse: dict[str, str],
        tally: SummaryTally,
    ) -> RecordContext:
        """From parts of the graph: enough for the communities whose entities' chunks and relations they hold."""
        relations_from: dict[str, list[Relation]] = defaultdict(list)  # so a community reads only its own
        for relation in relations:
            relations_from[relation.source_id].append(relation)
        chunks_of: dict[str, list[str]] = defaultdict(list)
        for chunk_id, entity_ids in chunk_entities.items():
            for entity_id in entity_ids:
                chunks_of[entity_id].append(chunk_id)
        return cls(degree, chunk_entities, chunk_docs, chunks_of, relations_from, summarize, reuse, tally)

    def record(self, level: int, members: Sequence[Entity], member_ids: list[str]) -> Community:
        """The community of ``members`` (its entities) at ``level``; ``member_ids``: entities or children."""
        leaf_ids = sorted(e.id for e in members)
        community_id = stable_id("com", str(level), *leaf_ids)
        title = community_title(members, self.degree)
        if community_id in self.reuse:
            summary = self.reuse[community_id]
        else:
            own = [r for e in members for r in self.relations_from.get(e.id, ())]
            facts = community_facts(members, own, self.degree)
            summary = summarize_community(title, facts, self.summarize, self.tally)
        mentioning = {c for e in leaf_ids for c in self.chunks_of.get(e, ())}
        return Community(
            id=community_id,
            level=level,
            title=title,
            summary=summary,
            members=member_ids,
            size=len(leaf_ids),
            chunk_count=len(mentioning),
            chunk_ids=central_chunks(set(leaf_ids), mentioning, self.chunk_entities, self.chunk_docs, self.degree),
            entity_names=[e.name for e in best_connected(members, self.degree, MAX_ENTITY_NAMES)],
        )


def weighted_degrees(chunk_entities: dict[str, list[str]], relations: Sequence[Relation]) -> dict[str, float]:
    """Each entity's degree as ``EntityGraph`` counts it (relations, plus co-mentions in its chunks), without
    listing the pairs: exact for every entity whose chunks and relations are all given."""
    degree: dict[str, float] = defaultdict(float)
    for members in chunk_entities.values():
        named = members[:MAX_CO_MENTIONS_PER_CHUNK]
        for entity_id in named:
            degree[entity_id] += len(named) - 1
    for relation in relations:
        if relation.source_id != relation.target_id:
            degree[relation.source_id] += max(relation.weight, 1.0)
            degree[relation.target_id] += max(relation.weight, 1.0)
    return degree


MAX_ENTITY_NAMES = 10


def build_communities(
    graph: EntityGraph,
    *,
    summarize: Summarize | None = None,
    seed: int = 42,
    reuse: dict[str, str] | None = None,
    tally: SummaryTally | None = None,
) -> list[Community]:
    """The hierarchy of ``graph``; ``reuse`` maps community ids to summaries already written for them."""
    if not graph.edges:
        return []
    return _build(graph, leiden_levels(graph, seed), summarize, reuse or {}, tally or SummaryTally())


def rebuild_communities(
    store: GraphStore,
    *,
    summarize: Summarize | None = None,
    seed: int = 42,
    reuse_summaries: bool = False,
    tally: SummaryTally | None = None,
) -> list[Community]:
    """Recompute the whole community hierarchy of the workspace and replace the stored one.

    With ``reuse_summaries`` (and an LLM ``summarize``), a community whose entities did not change and
    that no delete marked stale keeps its stored summary: only changed communities cost LLM calls."""
    reuse: dict[str, str] = {}
    if reuse_summaries and summarize is not None:
        reuse = {c.id: c.summary for c in store.get_communities() if c.summary and not c.stale}
    communities = build_communities(load_entity_graph(store), summarize=summarize, seed=seed, reuse=reuse, tally=tally)
    store.replace_communities(communities)
    return communities


def levels_of(communities: Sequence[Community]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for community in communities:
        counts[community.level] += 1
    return dict(counts)
