"""Weighted reciprocal-rank fusion of several rankings, and an optional cross-encoder re-ranker.

RRF scores a chunk by ``sum_r w_r / (k_rrf + rank_r)``: it needs no score calibration between signals
(cosine, BM25, PPR mass are not comparable), and a chunk that several signals agree on rises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.errors import ConfigError
from retrieval.types import ScoredChunk


@dataclass
class FusedHit:
    chunk_id: str
    score: float
    retrievers: list[str] = field(default_factory=list)  # signals that ranked it, strongest contribution first


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


class Reranker(Protocol):
    def rerank(self, question: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, higher is better."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder loaded offline from a local path (none ships with Amalgam)."""

    def __init__(self, model_path: str, *, device: str = "cpu", batch_size: int = 32) -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:  # pragma: no cover - sentence-transformers is a core dependency
            raise ConfigError("the re-ranker needs sentence-transformers") from exc
        try:
            self._model: Any = CrossEncoder(model_path, device=device)
        except OSError as exc:
            raise ConfigError(f"cannot load re-ranker model {model_path!r} offline: {exc}") from exc
        self.batch_size = batch_size

    def rerank(self, question: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        scores = self._model.predict([(question, t) for t in texts], batch_size=self.batch_size)
        return [float(s) for s in scores]


def rerank_hits(question: str, hits: list[FusedHit], texts: Mapping[str, str], reranker: Reranker) -> list[FusedHit]:
    """Re-order hits by the re-ranker's scores (hits without text keep their place at the end)."""
    scorable = [h for h in hits if h.chunk_id in texts]
    scores = reranker.rerank(question, [texts[h.chunk_id] for h in scorable])
    for hit, score in zip(scorable, scores, strict=True):
        hit.score = score
    rest = [h for h in hits if h.chunk_id not in texts]
    return sorted(scorable, key=lambda h: -h.score) + rest
