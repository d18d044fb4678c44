"""Weighted reciprocal-rank fusion (RRF): fuses any set of signals and needs no model.

RRF scores a chunk by ``sum_r w_r / (k_rrf + rank_r)``: it needs no score calibration between signals
(cosine, BM25, PPR mass are not comparable), and a chunk that several signals agree on rises.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass

from retrieval.fusion.base import FusedHit
from retrieval.signals.base import QuestionContext, Ranking
from retrieval.types import ScoredChunk


@dataclass
class FusionWeights:
    """Weights of each signal in reciprocal-rank fusion (0 disables a signal).

    Defaults chosen on the train split only, over the workspace the product's ingest builds from the full
    corpus (``amalgam eval tune-fusion``, 2026-12-07, docs/benchmarks.md; macro R@5 on train 70.9 with the
    old harness's weights, 73.1 with these): BM25 and PPR count double, TreeHop one and a half, proximity
    adds nothing once PPR and role are in, and a small RRF offset trusts each signal's first places more
    than the textbook 60."""

    dense: float = 1.0
    bm25: float = 2.0
    ppr: float = 2.0
    proximity: float = 0.0
    role: float = 0.25
    treehop: float = 1.5
    rrf_k: int = 10  # the rank offset of RRF: lower trusts each signal's first places more

    def as_dict(self) -> dict[str, float]:
        """The signal weights alone (``rrf_k`` is not a signal)."""
        return {name: value for name, value in asdict(self).items() if name != "rrf_k"}


def weighted_rrf(
    rankings: Mapping[str, Sequence[ScoredChunk]],
    weights: Mapping[str, float] | None = None,
    *,
    k_rrf: int = 60,
    limit: int | None = None,
) -> list[FusedHit]:
    """Fuse rankings (best first) by weighted reciprocal rank; ties broken by chunk id for determinism."""
    scores: dict[str, float] = {}
    contributions: dict[str, list[tuple[float, str]]] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 0.0)
        if weight <= 0:
            continue
        seen: set[str] = set()
        for rank, hit in enumerate(ranking, start=1):
            if hit.chunk_id in seen:
                continue  # a signal votes once per chunk
            seen.add(hit.chunk_id)
            gain = weight / (k_rrf + rank)
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + gain
            contributions.setdefault(hit.chunk_id, []).append((gain, name))
    ordered = sorted(scores, key=lambda c: (-scores[c], c))
    if limit is not None:
        ordered = ordered[:limit]
    return [
        FusedHit(c, scores[c], [name for _, name in sorted(contributions[c], key=lambda g: -g[0])]) for c in ordered
    ]


UNLISTED_WEIGHT = 1.0  # a signal FusionWeights has no field for yet (a new one) counts as much as dense


class WeightedRRF:
    """The ``Fusion`` over ``weighted_rrf``: any set of signals, weighted by ``FusionWeights``."""

    name = "rrf"

    def __init__(self, weights: FusionWeights | None = None) -> None:
        self.weights = weights or FusionWeights()

    def weight(self, signal: str) -> float:
        return self.weights.as_dict().get(signal, UNLISTED_WEIGHT)

    def weighs(self, signal: str) -> bool:
        return self.weight(signal) > 0

    def fits(self, signals: Collection[str]) -> bool:
        return True

    def fuse(self, rankings: Mapping[str, Ranking], context: QuestionContext, limit: int) -> list[FusedHit]:
        hits = {name: ranking.hits for name, ranking in rankings.items()}
        weights = {name: self.weight(name) for name in rankings}
        return weighted_rrf(hits, weights, k_rrf=self.weights.rrf_k, limit=limit)
