"""Sparse retrieval: BM25 over the chunks' words (exact names and rare terms the embedding blurs)."""

from __future__ import annotations

from retrieval.signals.base import QuestionContext, Ranking


class BM25Signal:
    name = "bm25"

    def rank(self, context: QuestionContext) -> Ranking:
        return Ranking(self.name, tuple(context.indexes.sparse.search(context.query.text, context.depth)))
