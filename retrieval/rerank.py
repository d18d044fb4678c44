"""An optional cross-encoder re-ranker over the fused hits (none ships with Amalgam)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ingest.errors import ConfigError
from retrieval.fusion.base import FusedHit


class Reranker(Protocol):
    def rerank(self, question: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, higher is better."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder loaded offline from a local path."""

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
