"""Recall of supporting passages per data set, for TreeHop and dense retrieval over the same index."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from retrieval.treehop.data import Question
from retrieval.types import Query, Retriever, ScoredChunk

KS = (2, 5, 10)


class DenseRetriever:
    """Single-hop dense search over a FaissIndex: the baseline TreeHop is measured against."""

    name = "dense"

    def __init__(self, index: object) -> None:
        self.index = index

    def search(self, query: Query, k: int) -> list[ScoredChunk]:
        return self.index.search(query.embedding, k)  # type: ignore[attr-defined, no-any-return]


def recall(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    return len(set(retrieved[:k]) & set(gold)) / len(set(gold))


def recall_table(
    retriever: Retriever | Callable[[Query, int], list[ScoredChunk]],
    questions: Sequence[Question],
    vectors: np.ndarray,
    ks: Sequence[int] = KS,
) -> dict[str, dict[int, float]]:
    """``{dataset or "all": {k: mean recall@k}}`` in percent."""
    search = retriever.search if isinstance(retriever, Retriever) else retriever
    sums: dict[str, dict[int, float]] = defaultdict(lambda: dict.fromkeys(ks, 0.0))
    counts: dict[str, int] = defaultdict(int)
    for question, vector in zip(questions, vectors, strict=True):
        ids = [hit.chunk_id for hit in search(Query(question.question, vector), max(ks))]
        for group in (question.dataset, "all"):
            counts[group] += 1
            for k in ks:
                sums[group][k] += recall(ids, question.supporting_ids, k)
    return {g: {k: 100.0 * sums[g][k] / counts[g] for k in ks} for g in sorted(counts)}
