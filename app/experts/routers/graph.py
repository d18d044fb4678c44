"""Graph routing: each evidence chunk votes for the experts trained on its part of the graph, at two grains.

- Its level-0 communities: each leans towards the experts whose training chunks it shares
  (``app/experts/affinity.py``) and votes once per chunk, however many of its entities the chunk names.
- Its own entities: each leans the same way over the chunks that mention it; together they cast one vote
  (their mean), which keeps the router sharp when a large workspace's level-0 communities mix the domains
  (bench, 240 passages per domain: dev 90.0% / 81.5% with communities alone, 96.0% / 95.4% with both).

Every affinity is weighed by its specificity, so a hub (*American*, *United States*) or its community, shared
by every domain, says little, and one that trained a single expert says much. Evidence ranks are not
weighed: the top chunks are all the question's evidence, and on the bench's dev set weighing by 1/(rank+1)
lost 1-5 points.
"""

from __future__ import annotations

from collections import defaultdict

from app.experts.affinity import (
    chunk_entities,
    community_affinity,
    entity_affinity,
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
        self.affinity: dict[str, dict[str, float]] = {}  # level-0 community → expert → share
        self.weight: dict[str, float] = {}  # its specificity
        self.entity_affinity: dict[str, dict[str, float]] = {}
        self.entity_weight: dict[str, float] = {}
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
        self.entity_affinity = entity_affinity(mentions, training)
        self.entity_weight = {e: specificity(a, len(self.trained)) for e, a in self.entity_affinity.items()}

    def route(self, question: str, result: RetrievalResult | None = None) -> Route:
        if not self.trained:
            return abstain(self.name, "no expert names the communities or documents it was trained on")
        if result is None or not result.evidence:
            return abstain(self.name, "no evidence was retrieved, so no communities to route by")
        votes = self._votes(result)
        total = sum(votes.values())
        if total <= 0:
            return abstain(self.name, "the evidence's entities and communities trained no expert, or all evenly")
        scores = {name: round(v / total, 4) for name, v in votes.items()}
        expert, confidence = best(scores)
        reason = (
            f"{confidence:.0%} of the votes of the evidence's entities and communities (each weighed by how "
            f"specific it is to one expert's training) go to {expert}"
        )
        return Route(expert=expert, router=self.name, scores=scores, confidence=confidence, reason=reason)

    def _votes(self, result: RetrievalResult) -> dict[str, float]:
        mentions = self.store.entities_of_chunks([e.chunk.id for e in result.evidence])
        votes: dict[str, float] = defaultdict(float)
        for evidence in result.evidence:
            entities = mentions.get(evidence.chunk.id, [])
            touched = {self.level0_of.get(e, "") for e in entities}
            for community_id in touched & self.affinity.keys():
                _add(votes, self.affinity[community_id], self.weight[community_id])
            for entity_id in set(entities) & self.entity_affinity.keys():
                _add(votes, self.entity_affinity[entity_id], self.entity_weight[entity_id] / len(entities))
        return dict(votes)


def _add(votes: dict[str, float], affinity: dict[str, float], weight: float) -> None:
    if weight <= 0:
        return  # shared evenly: no opinion, not even a zero score
    for name, share in affinity.items():
        votes[name] += share * weight
