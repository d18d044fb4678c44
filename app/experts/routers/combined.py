"""Centroid and graph routing together: their scores averaged (the centroid's alone when the graph
abstains); below the confidence threshold the general (merged) model answers instead of a guess."""

from __future__ import annotations

from app.experts.registry import GENERAL
from app.experts.router import Router, best
from app.results import Route
from retrieval.types import RetrievalResult


class CombinedRouter:
    name = "combined"

    def __init__(self, routers: list[Router], threshold: float) -> None:
        self.routers = routers
        self.threshold = threshold

    def route(self, question: str, result: RetrievalResult | None = None) -> Route:
        opinions = [r.route(question, result) for r in self.routers]
        voiced = [o for o in opinions if o.scores]
        if not voiced:
            return Route(
                expert=GENERAL, router=self.name, reason="no router had an opinion; the general expert answers"
            )
        names = {n for o in voiced for n in o.scores}
        scores = {n: round(sum(o.scores.get(n, 0.0) for o in voiced) / len(voiced), 4) for n in names}
        expert, confidence = best(scores)
        heard = "; ".join(f"{o.router}: {o.expert} ({o.confidence:.2f})" for o in voiced)
        if confidence < self.threshold:
            reason = (
                f"confidence {confidence:.2f} is below the threshold {self.threshold:.2f} ({heard}); "
                "the general expert answers"
            )
            return Route(expert=GENERAL, router=self.name, scores=scores, confidence=confidence, reason=reason)
        reason = f"{expert} with confidence {confidence:.2f} ({heard})"
        return Route(expert=expert, router=self.name, scores=scores, confidence=confidence, reason=reason)
