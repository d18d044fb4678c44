"""Global search as a signal: the question ranks the workspace's communities (``retrieval/global_search.py``)
and the chunks it returns are the picked communities' chunks that best match the question's focus, then
their most central ones; the picked communities ride along in the ranking, so the result can show their
summaries beside the chunks they cite."""

from __future__ import annotations

from retrieval.global_search import (
    chunk_communities,
    community_chunks,
    credit,
    match_chunks,
    pick_communities,
    question_focus,
    rank_communities,
)
from retrieval.signals.base import QuestionContext, Ranking

NO_COMMUNITIES_NOTE = "global search found no communities: the workspace has none yet (answered locally)"
# Chosen on the theme benchmark (train split): with the evidence vote, 5 picked covered less at k=20, 10 a
# little less, 15-30 and even every community about the same (docs/benchmarks.md, "Global mode").
COMMUNITIES_PICKED = 20
MATCH_DEPTH = 100  # matching chunks read per question: the evidence vote and the evidence pool


class CommunitySignal:
    name = "community"

    def rank(self, context: QuestionContext) -> Ranking:
        index = context.communities
        if index is None or not len(index):
            return Ranking(self.name, notes=(NO_COMMUNITIES_NOTE,))
        links = tuple(context.once("links", lambda: context.graph.link_entities(context.query)))
        focus = question_focus(context.query.text)
        depth = max(MATCH_DEPTH, context.depth)
        dense = context.indexes.dense.search(context.query.embedding, depth)
        matched = match_chunks(dense, context.indexes.sparse.search(focus, depth))
        homes = chunk_communities(index, context.store.entities_of_chunks(matched))
        ranked = rank_communities(index, context.query, links, focus=focus, matched=matched, homes=homes)
        picked = pick_communities(index, ranked, COMMUNITIES_PICKED)
        central = sorted({c for hit in picked for c in index.by_id[hit.community_id].chunk_ids})
        indexed = [c for c in central if c in context.indexes.dense]
        vectors = context.indexes.dense.reconstruct(indexed)
        similarity = dict(zip(indexed, (vectors @ context.query.embedding).tolist(), strict=True))
        doc_of = {chunk.id: chunk.doc_id for chunk in context.store.get_chunks(sorted({*indexed, *matched}))}
        hits = community_chunks(index, picked, similarity, doc_of, context.depth, matched=matched, homes=homes)
        notes = (f"global search skipped {index.skipped} communities without a summary",) if index.skipped else ()
        return Ranking(self.name, tuple(hits), links, notes, communities=tuple(credit(index, picked, hits, homes)))
