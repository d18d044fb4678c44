"""Graph routing: each evidence chunk votes for the experts trained on its part of the graph.

- Its own entities first: each leans towards the experts whose training chunks mention it
  (``app/experts/affinity.py``); together they cast one vote, the mean of their affinities.
- When none of them says anything (no training chunk mentions them, or all experts' alike), its level-0
  communities instead: each leans towards the experts whose training chunks it shares, one vote per
  community however many of its entities the chunk names. This is where the graph generalises: evidence no
  expert trained on still sits in communities that some expert did.

Every affinity is weighed by its specificity, so a hub (*American*, *United States*) or a community shared by
every domain says little, and one that trained a single expert says much. Evidence ranks are not weighed.
Chosen on the bench's dev split (docs/experts.md): entities first, communities as the back-off, matched
entities alone and beat communities alone or both summed, most on a workspace twice the size.
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
            chunk_votes = self._entity_votes(entities) or self._community_votes(entities)
            for name, vote in chunk_votes.items():
                votes[name] += vote
        return dict(votes)

    def _entity_votes(self, entities: list[str]) -> dict[str, float]:
        """One vote between them: the mean of the entities' affinities, each weighed by its specificity."""
        votes: dict[str, float] = defaultdict(float)
        for entity_id in set(entities) & self.entity_affinity.keys():
            _add(votes, self.entity_affinity[entity_id], self.entity_weight[entity_id] / len(entities))
        return votes

    def _community_votes(self, entities: list[str]) -> dict[str, float]:
        """One vote per level-0 community the entities are in, however many of them it holds."""
        votes: dict[str, float] = defaultdict(float)
        for community_id in {self.level0_of.get(e, "") for e in entities} & self.affinity.keys():
            _add(votes, self.affinity[community_id], self.weight[community_id])
        return votes


def _add(votes: dict[str, float], affinity: dict[str, float], weight: float) -> None:
    if weight <= 0:
        return  # shared evenly: no opinion, not even a zero score
    for name, share in affinity.items():
        votes[name] += share * weight
