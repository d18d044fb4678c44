"""Graph routing: the entities the retrieved evidence mentions belong to top-level communities; each expert
was trained on some communities (``communities`` in the registry); each evidence chunk votes, by rank
(1/(rank+1)), for the experts whose communities its entities are in."""

from __future__ import annotations

from collections import defaultdict

from app.experts.domains import entity_to_root
from app.experts.registry import ExpertRegistry
from app.experts.router import abstain, best
from app.results import Route
from graph.store.base import GraphStore
from retrieval.types import RetrievalResult


class GraphRouter:
    name = "graph"

    def __init__(self, registry: ExpertRegistry, store: GraphStore) -> None:
        self.store = store
        communities = store.get_communities()
        self.root_of_entity = entity_to_root(communities)
        parent = {c.id: c.parent_id for c in communities}
        self.experts_of_root: dict[str, list[str]] = defaultdict(list)
        for expert in registry.specialists:
            for community_id in expert.communities:
                root = community_id
                while parent.get(root):
                    root = parent[root]  # type: ignore[assignment]
                self.experts_of_root[root].append(expert.name)

    def route(self, question: str, result: RetrievalResult | None = None) -> Route:
        if not self.experts_of_root:
            return abstain(self.name, "no expert names the communities it was trained on")
        if result is None or not result.evidence:
            return abstain(self.name, "no evidence was retrieved, so no communities to route by")
        votes = self._votes(result)
        if not votes:
            return abstain(self.name, "the evidence's entities are in no expert's communities")
        total = sum(votes.values())
        scores = {name: round(v / total, 4) for name, v in votes.items()}
        expert, confidence = best(scores)
        reason = (
            f"{confidence:.0%} of the evidence's entity votes (by rank) fall in communities {expert} was trained on"
        )
        return Route(expert=expert, router=self.name, scores=scores, confidence=confidence, reason=reason)

    def _votes(self, result: RetrievalResult) -> dict[str, float]:
        mentions = self.store.entities_of_chunks([e.chunk.id for e in result.evidence])
        votes: dict[str, float] = defaultdict(float)
        for rank, evidence in enumerate(result.evidence):
            experts = [
                name
                for entity_id in mentions.get(evidence.chunk.id, [])
                for name in self.experts_of_root.get(self.root_of_entity.get(entity_id, ""), [])
            ]
            for name in experts:
                votes[name] += 1.0 / (rank + 1) / len(experts)
        return dict(votes)
