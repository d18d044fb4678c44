"""Nearest centroid: each expert is the mean embedding of its description and example questions; the
question goes to the expert whose centroid is closest (cosine), softened into scores by a softmax."""

from __future__ import annotations

import numpy as np

from app.experts.registry import ExpertRegistry
from app.experts.router import abstain, best, softmax
from app.results import Route
from ingest.embedder import Embedder
from retrieval.types import RetrievalResult

# Cosines of MiniLM between one question and two domains' centroids differ by ~0.05-0.3; at 0.05 a gap
# of 0.1 gives the nearer expert ~0.88 of the score.
TEMPERATURE = 0.05


class CentroidRouter:
    name = "centroid"

    def __init__(self, registry: ExpertRegistry, embedder: Embedder) -> None:
        self.embedder = embedder
        self.centroids: dict[str, np.ndarray] = {}
        for expert in registry.specialists:
            texts = [t for t in [expert.description, *expert.examples] if t.strip()]
            if texts:
                mean = np.asarray(embedder.embed(texts)).mean(axis=0)
                self.centroids[expert.name] = mean / (np.linalg.norm(mean) or 1.0)

    def route(self, question: str, result: RetrievalResult | None = None) -> Route:
        if not self.centroids:
            return abstain(self.name, "no expert has a description or example questions to compare with")
        vector = np.asarray(self.embedder.embed([question]))[0]
        cosines = {name: float(vector @ centroid) for name, centroid in self.centroids.items()}
        scores = softmax(cosines, TEMPERATURE)
        expert, confidence = best(scores)
        ranked = ", ".join(f"{n} {c:.2f}" for n, c in sorted(cosines.items(), key=lambda kv: -kv[1]))
        reason = f"the question is closest to {expert}'s description and examples (cosine {ranked})"
        return Route(expert=expert, router=self.name, scores=scores, confidence=confidence, reason=reason)
