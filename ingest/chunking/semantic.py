"""Semantic chunker: boundaries where the embeddings of neighbouring sentences drift apart.

Gap strength = cosine distance between the mean embedding of the ``window`` sentences before the
gap and of the ``window`` sentences after it (a window smooths one-sentence asides). Gaps at or
above the ``breakpoint_percentile`` of a document's distances are declared boundaries; merging
then sizes the chunks. The embedder is passed in (``ingest.embedder.Embedder``), never loaded here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingest.chunking.scored import GapScores, GapScoringChunker
from ingest.embedder import Embedder
from ingest.sentences import Sentence


def window_distances(embeddings: np.ndarray, window: int) -> np.ndarray:
    """Cosine distance across each gap between the mean of ``window`` rows before and after it."""
    cumulative = np.vstack([np.zeros((1, embeddings.shape[1])), np.cumsum(embeddings, axis=0)])
    count = len(embeddings)
    distances = np.empty(count - 1)
    for gap in range(count - 1):
        left = cumulative[gap + 1] - cumulative[max(0, gap + 1 - window)]
        right = cumulative[min(count, gap + 1 + window)] - cumulative[gap + 1]
        denominator = np.linalg.norm(left) * np.linalg.norm(right)
        distances[gap] = 1.0 - float(left @ right) / denominator if denominator > 0 else 1.0
    return distances


class SemanticChunker(GapScoringChunker):
    name = "semantic"

    def __init__(
        self,
        embedder: Embedder,
        *,
        target_tokens: int = 200,
        max_tokens: int = 400,
        window: int = 2,
        breakpoint_percentile: float = 90.0,
    ) -> None:
        super().__init__(target_tokens=target_tokens, max_tokens=max_tokens)
        self.embedder = embedder
        self.window = window
        self.breakpoint_percentile = breakpoint_percentile

    def score_gaps(self, sentences: Sequence[Sentence]) -> GapScores:
        embeddings = np.asarray(self.embedder.embed([s.text for s in sentences]), dtype=np.float64)
        distances = window_distances(embeddings, self.window)
        cutoff = float(np.percentile(distances, self.breakpoint_percentile))
        return GapScores(distances.tolist(), [bool(d >= cutoff) for d in distances])
