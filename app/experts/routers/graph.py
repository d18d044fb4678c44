"""Graph routing: each evidence chunk's entities belong to level-0 communities; each community leans towards
the experts whose training chunks it shares (``app/experts/affinity.py``); every community an evidence chunk
touches votes its affinity, weighed by its specificity, so a hub's community shared by every domain says
little and one that trained a single expert says much.

Counted once per chunk and community, not once per entity: a chunk naming ten entities of one community is
one piece of evidence, not ten. Evidence ranks are not weighed: the top chunks are all the question's
evidence, and on the bench's dev set weighing by 1/(rank+1) lost 1-5 points.
"""

from __future__ import annotations

from collections import defaultdict

from app.experts.affinity import (
    chunk_entities,
    community_affinity,
    entity_to_level0,
    specificity,
    training_chunks,
)
from app.experts.registry import ExpertRegistry
from app.experts.router import abstain, best
from app.results import Route
from graph.store.base import GraphStore
from retrieval.types import RetrievalResult


class GraphRouter:
    name = "graph"

    def __init__(self, registry: ExpertRegistry, store: GraphStore) -> None:
        self.store = store
        self.level0_of: dict[str, str] = {}
        self.trained: list[str] = []
        self.affinity: dict[str, dict[str, float]] = {}
        self.weight: dict[str, float] = {}
        if any(e.communities or e.documents for e in registry.specialists):
            self._map(registry, store)  # one pass over the workspace's chunks, once per router

    def _map(self, registry: ExpertRegistry, store: GraphStore) -> None:
        communities = store.get_communities()
        self.level0_of = entity_to_level0(communities)
        mentions = chunk_entities(store)
        training = training_chunks(store, registry.specialists, communities, mentions)
        self.trained = sorted(name for name, chunks in training.items() if chunks)
        self.affinity = community_affinity(self.level0_of, mentions, training)
        self.weight = {c: specificity(a, len(self.trained)) for c, a in self.affinity.items()}

    def route(self, question: str, result: RetrievalResult | None = None) -> Route:
        if not self.trained:
            return abstain(self.name, "no expert names the communities or documents it was trained on")
        if result is None or not result.evidence:
            return abstain(self.name, "no evidence was retrieved, so no communities to route by")
        votes = self._votes(result)
        total = sum(votes.values())
        if total <= 0:
            return abstain(self.name, "the evidence's communities trained no expert, or all of them evenly")
        scores = {name: round(v / total, 4) for name, v in votes.items()}
        expert, confidence = best(scores)
        reason = (
            f"{confidence:.0%} of the votes of the evidence's communities (each weighed by how specific it is "
            f"to one expert's training) go to {expert}"
        )
        return Route(expert=expert, router=self.name, scores=scores, confidence=confidence, reason=reason)

    def _votes(self, result: RetrievalResult) -> dict[str, float]:
        mentions = self.store.entities_of_chunks([e.chunk.id for e in result.evidence])
        votes: dict[str, float] = defaultdict(float)
        for evidence in result.evidence:
            touched = {self.level0_of.get(e, "") for e in mentions.get(evidence.chunk.id, [])}
            for community_id in touched & self.affinity.keys():
                weight = self.weight[community_id]
                if weight <= 0:
                    continue  # shared evenly: no opinion, not even a zero score
                for name, share in self.affinity[community_id].items():
                    votes[name] += share * weight
        return dict(votes)
