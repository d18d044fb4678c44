"""The router protocol: given a question (and the evidence retrieved for it) choose the expert that answers.

Implementations live in ``app/experts/routers/`` (one file each) and are looked up by name in
``app/experts/routers/registry.py``. Every decision is a ``Route``: the expert, each candidate's score
(0-1, summing to 1 when the router has an opinion), the confidence, and a sentence saying why.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from app.experts.registry import GENERAL
from app.results import Route
from retrieval.types import RetrievalResult


class Router(Protocol):
    name: str

    def route(self, question: str, result: RetrievalResult | None = None) -> Route: ...


def abstain(router: str, reason: str) -> Route:
    """No opinion: the general expert answers, with no scores (a combined router then ignores this one)."""
    return Route(expert=GENERAL, router=router, scores={}, confidence=0.0, reason=reason)


def softmax(values: dict[str, float], temperature: float) -> dict[str, float]:
    names = list(values)
    raw = np.array([values[n] for n in names]) / temperature
    weights = np.exp(raw - raw.max())
    weights /= weights.sum()
    return {n: round(float(w), 4) for n, w in zip(names, weights, strict=True)}


def best(scores: dict[str, float]) -> tuple[str, float]:
    name = max(scores, key=lambda n: scores[n])
    return name, scores[name]
