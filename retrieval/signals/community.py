"""Global search as a signal: the question ranks the workspace's communities (``retrieval/global_search.py``)
and the chunks it returns are the picked communities' most central ones; the picked communities ride
along in the ranking, so the result can show their summaries beside the chunks they cite."""

from __future__ import annotations

from retrieval.global_search import community_chunks, pick_communities, rank_communities
from retrieval.signals.base import QuestionContext, Ranking

NO_COMMUNITIES_NOTE = "global search found no communities: the workspace has none yet (answered locally)"
COMMUNITIES_PICKED = 10  # chosen on the theme benchmark (train split): 5 covered less


class CommunitySignal:
    name = "community"

    def rank(self, context: QuestionContext) -> Ranking:
        index = context.communities
        if index is None or not len(index):
            return Ranking(self.name, notes=(NO_COMMUNITIES_NOTE,))
        links = tuple(context.once("links", lambda: context.graph.link_entities(context.query)))
        ranked = rank_communities(index, context.query, links)
        picked = pick_communities(index, ranked, COMMUNITIES_PICKED)
        candidates = sorted({c for hit in picked for c in index.by_id[hit.community_id].chunk_ids})
        indexed = [c for c in candidates if c in context.indexes.dense]
        vectors = context.indexes.dense.reconstruct(indexed)
        similarity = dict(zip(indexed, (vectors @ context.query.embedding).tolist(), strict=True))
        doc_of = {chunk.id: chunk.doc_id for chunk in context.store.get_chunks(indexed)}
        hits = community_chunks(index, picked, similarity, doc_of, context.depth)
        notes = (f"global search skipped {index.skipped} communities without a summary",) if index.skipped else ()
        return Ranking(self.name, tuple(hits), links, notes, communities=tuple(picked))
