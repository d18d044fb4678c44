"""Which experts a community's (or an entity's) text trained: the graph router's map from graph to experts.

An expert's training chunks are the chunks of the workspace documents it was trained on (``documents`` in
the registry) and the chunks mentioning an entity of the communities it was trained on (``communities``,
as ``domains_from_communities`` gathers them). A level-0 community's chunks are those mentioning one of its
entities; its affinity to each expert is the share of those chunks in the expert's training chunks, divided
by the size of that training set (so a larger expert does not win every mixed community) and normalised
over the experts. Level 0 because the top levels of a small or hub-connected graph are one giant community
that every domain shares (the bench's 240 passages: one root of 1,548 entities and 227 of 268 chunks).
An entity's affinity is the same over the chunks that mention it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from app.experts.registry import Expert
from graph.models import Community
from graph.store.base import GraphStore

BATCH = 500  # chunks per entities_of_chunks call


def chunk_entities(store: GraphStore) -> dict[str, list[str]]:
    """Every chunk id → the ids of the entities it mentions (one pass over the store, in batches)."""
    mentions: dict[str, list[str]] = {}
    batch: list[str] = []
    for chunk in store.iter_chunks():
        batch.append(chunk.id)
        if len(batch) == BATCH:
            mentions.update(store.entities_of_chunks(batch))
            batch = []
    if batch:
        mentions.update(store.entities_of_chunks(batch))
    return mentions


def entity_to_level0(communities: Iterable[Community]) -> dict[str, str]:
    """Each entity id → the level-0 community it is a member of (the most specific one)."""
    return {entity: c.id for c in communities if c.level == 0 for entity in c.members}


def training_chunks(
    store: GraphStore,
    experts: Sequence[Expert],
    communities: Sequence[Community],
    mentions: Mapping[str, list[str]],
) -> dict[str, set[str]]:
    """Each expert → the ids of the workspace chunks it was trained on (empty when it names none)."""
    named = {c for expert in experts for c in expert.communities}
    by_community: dict[str, set[str]] = defaultdict(set)
    if named:
        lineage = _lineage(communities)
        for chunk_id, entities in mentions.items():
            for community_id in {a for e in entities for a in lineage.get(e, ())} & named:
                by_community[community_id].add(chunk_id)
    chunks: dict[str, set[str]] = {}
    for expert in experts:
        mine = {c.id for doc in expert.documents for c in store.chunks_of_document(doc)}
        for community_id in expert.communities:
            mine |= by_community.get(community_id, set())
        chunks[expert.name] = mine
    return chunks


def community_affinity(
    level0_of: Mapping[str, str], mentions: Mapping[str, list[str]], training: Mapping[str, set[str]]
) -> dict[str, dict[str, float]]:
    """Each level-0 community that shares chunks with some expert's training → expert → affinity (sums to 1)."""
    return _affinity(lambda entities: {level0_of[e] for e in entities if e in level0_of}, mentions, training)


def entity_affinity(mentions: Mapping[str, list[str]], training: Mapping[str, set[str]]) -> dict[str, dict[str, float]]:
    """The same for each entity, over the chunks that mention it: the finest grain of the graph, which still
    tells the domains apart when a large workspace's level-0 communities grow and mix them."""
    return _affinity(set, mentions, training)


def _affinity(
    groups_of: Callable[[list[str]], set[str]], mentions: Mapping[str, list[str]], training: Mapping[str, set[str]]
) -> dict[str, dict[str, float]]:
    chunks_of: dict[str, set[str]] = defaultdict(set)
    for chunk_id, entities in mentions.items():
        for group in groups_of(entities):
            chunks_of[group].add(chunk_id)
    affinity: dict[str, dict[str, float]] = {}
    for group, chunks in chunks_of.items():
        raw = {name: len(chunks & mine) / len(mine) for name, mine in training.items() if mine}
        total = sum(raw.values())
        if total > 0:
            affinity[group] = {name: value / total for name, value in raw.items() if value > 0}
    return affinity


def specificity(affinity: Mapping[str, float], experts: int) -> float:
    """1 - normalised entropy: 1 for a community that trained one expert only, 0 for one shared evenly by all
    (a hub's community says nothing about the domain, however many chunks mention it)."""
    if experts < 2:
        return 1.0
    entropy = -sum(p * math.log(p) for p in affinity.values() if p > 0)
    return max(0.0, 1.0 - entropy / math.log(experts))


def _lineage(communities: Sequence[Community]) -> dict[str, tuple[str, ...]]:
    """Each entity id → its level-0 community and that community's ancestors, up to the root."""
    parent = {c.id: c.parent_id for c in communities}
    lineage: dict[str, tuple[str, ...]] = {}
    for community in communities:
        if community.level != 0:
            continue
        chain = [community.id]
        while parent.get(chain[-1]):
            chain.append(parent[chain[-1]])  # type: ignore[arg-type]
        for entity_id in community.members:
            lineage[entity_id] = tuple(chain)
    return lineage
