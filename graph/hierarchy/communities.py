"""Hierarchical communities over the entity graph, bottom-up with Leiden.

The graph: entities, linked by RELATED (weight = evidence chunks) plus co-mention in a chunk
(weight 1 per chunk). Level 0 is Leiden at the finest resolution; each next level runs Leiden on
the previous level's aggregate graph at half the resolution, until nothing merges any more.
Every community is written with its members (entities at level 0, child communities above) and
its parent; ``replace_communities`` swaps the whole set at once, which also clears stale marks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from typing import Any

from graph.hierarchy.summaries import Summarize, community_facts, community_title, summarize_community
from graph.models import Community, Entity, Relation, stable_id
from graph.store.base import GraphStore

MAX_CO_MENTIONS_PER_CHUNK = 30  # a chunk naming more entities than this says little about each pair


class EntityGraph:
    """The weighted, undirected entity graph as Leiden needs it."""

    def __init__(self, entities: list[Entity], relations: list[Relation], co_mentions: dict[tuple[str, str], float]):
        self.entities = entities
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
    co_mentions: dict[tuple[str, str], float] = defaultdict(float)
    chunk_ids = [chunk.id for chunk in store.iter_chunks(batch_size)]
    for start in range(0, len(chunk_ids), batch_size):
        for members in store.entities_of_chunks(chunk_ids[start : start + batch_size]).values():
            for left, right in combinations(sorted(set(members))[:MAX_CO_MENTIONS_PER_CHUNK], 2):
                co_mentions[(left, right)] += 1.0
    return EntityGraph(entities, [relations[k] for k in sorted(relations)], co_mentions)


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


def _build(graph: EntityGraph, levels: list[list[int]], summarize: Summarize | None) -> list[Community]:
    connected = {graph.entities[a].id for a, _ in graph.edges} | {graph.entities[b].id for _, b in graph.edges}
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
            leaf_ids = sorted(e.id for e in members)
            if level == 0:
                member_ids = leaf_ids
            else:
                children = {previous_membership[graph.index[i]] for i in leaf_ids}
                member_ids = sorted(previous[c].id for c in children if c in previous)
            title = community_title(members, graph.degree)
            facts = community_facts(members, graph.relations, graph.degree)
            current[label] = Community(
                id=stable_id("com", str(level), *leaf_ids),
                level=level,
                title=title,
                summary=summarize_community(title, facts, summarize),
                members=member_ids,
            )
        if level > 0:
            for node, label in enumerate(membership):
                child = previous.get(previous_membership[node])
                if child is not None and label in current:
                    child.parent_id = current[label].id
        communities.extend(current.values())
        previous, previous_membership = current, membership
    return communities


def build_communities(graph: EntityGraph, *, summarize: Summarize | None = None, seed: int = 42) -> list[Community]:
    if not graph.edges:
        return []
    return _build(graph, leiden_levels(graph, seed), summarize)


def rebuild_communities(store: GraphStore, *, summarize: Summarize | None = None, seed: int = 42) -> list[Community]:
    """Recompute the whole community hierarchy of the workspace and replace the stored one."""
    communities = build_communities(load_entity_graph(store), summarize=summarize, seed=seed)
    store.replace_communities(communities)
    return communities


def levels_of(communities: Sequence[Community]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for community in communities:
        counts[community.level] += 1
    return dict(counts)
