"""Dense retrieval: the chunks whose embeddings are nearest the question's (FAISS, inner product)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.signals.base import QuestionContext, Ranking

if TYPE_CHECKING:
    from retrieval.types import ScoredChunk


def dense_hits(context: QuestionContext) -> list[ScoredChunk]:
    """The dense ranking, searched once per question (the graph's PPR also starts from it)."""
    return context.once("dense", lambda: context.indexes.dense.search(context.query.embedding, context.depth))


class DenseSignal:
    name = "dense"

    def rank(self, context: QuestionContext) -> Ranking:
        return Ranking(self.name, tuple(dense_hits(context)))
