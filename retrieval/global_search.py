"""Global search: rank the workspace's communities against a question, pick some across levels, and
turn them into chunk evidence (each community's most central chunks), so answers cite real documents.

Communities are ranked by three votes fused by reciprocal rank: the question's similarity to the
summary (embedding), BM25 over title and summary, and membership of the entities the question links to.
Picking walks that ranking and skips a community nested in one already picked (its ancestor or its
descendant says the same thing with more or fewer members), and one holding most of the workspace (it
is about everything, so about nothing in particular). Evidence: the picked communities' central chunks,
most similar to the question first, one chunk per document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.communities import CommunityIndex
from retrieval.types import EntityLink, Query, ScoredChunk

RRF_K = 10
VOTE_WEIGHTS = {"summary": 1.0, "bm25": 0.75, "entities": 1.0}
MAX_SHARE = 0.5  # a community holding more of the workspace's entities than this is skipped


@dataclass(frozen=True)
class CommunityHit:
    community_id: str
    score: float
    votes: tuple[str, ...]  # which votes ranked it, strongest first


def rank_communities(
    index: CommunityIndex, query: Query, links: Sequence[EntityLink], depth: int = 50
) -> list[CommunityHit]:
    """Every community any vote ranks, best first (ties by id)."""
    if not len(index):
        return []
    ids = [c.id for c in index.communities]
    similarity = index.vectors @ np.asarray(query.embedding, dtype=np.float32)
    order = np.argsort(-similarity, kind="stable")[:depth]
    votes: dict[str, list[str]] = {
        "summary": [ids[i] for i in order],
        "bm25": [hit.chunk_id for hit in index.bm25.search(query.text, depth)],
        "entities": _by_membership(index, links)[:depth],
    }
    scores: dict[str, float] = {}
    why: dict[str, list[tuple[float, str]]] = {}
    for vote, ranked in votes.items():
        for rank, community_id in enumerate(ranked, start=1):
            gain = VOTE_WEIGHTS[vote] / (RRF_K + rank)
            scores[community_id] = scores.get(community_id, 0.0) + gain
            why.setdefault(community_id, []).append((gain, vote))
    ordered = sorted(scores, key=lambda c: (-scores[c], c))
    return [CommunityHit(c, scores[c], tuple(v for _, v in sorted(why[c], reverse=True))) for c in ordered]


def _by_membership(index: CommunityIndex, links: Sequence[EntityLink]) -> list[str]:
    """Communities by the summed link scores of the question's entities they hold (smaller first on ties:
    the narrowest community holding a named entity is the most specific)."""
    mass: dict[str, float] = {}
    for link in links:
        for community_id in index.of_entity.get(link.entity_id, ()):
            mass[community_id] = mass.get(community_id, 0.0) + link.score
    return sorted(mass, key=lambda c: (-mass[c], index.by_id[c].size, c))


def pick_communities(index: CommunityIndex, ranked: Sequence[CommunityHit], limit: int) -> list[CommunityHit]:
    """Up to ``limit`` of ``ranked``, none nested in another, none holding most of the workspace (unless
    nothing else is left)."""
    picked: list[CommunityHit] = []
    chosen: set[str] = set()
    above_chosen: set[str] = set()  # ancestors of picked communities
    for hit in ranked:
        community = index.by_id[hit.community_id]
        too_broad = index.total_entities and community.size > MAX_SHARE * index.total_entities
        chain = index.ancestors(hit.community_id)
        nested = hit.community_id in chosen | above_chosen or chosen.intersection(chain)
        if too_broad or nested:
            continue
        picked.append(hit)
        chosen.add(hit.community_id)
        above_chosen.update(chain)
        if len(picked) == limit:
            return picked
    if not picked and ranked:
        picked.append(ranked[0])
    return picked


def community_chunks(
    index: CommunityIndex,
    picked: Sequence[CommunityHit],
    similarity: dict[str, float],
    doc_of: dict[str, str],
    limit: int,
) -> list[ScoredChunk]:
    """Chunk evidence from the picked communities' central chunks, most similar to the question first, one
    per document. ``similarity`` holds the question's cosine with each candidate chunk (a chunk missing from
    it is no longer indexed). Measured on the theme benchmark's train-split corpus, this order covered more
    of a theme than giving each community a turn (docs/benchmarks.md, "Global mode")."""
    pool = {c for hit in picked for c in index.by_id[hit.community_id].chunk_ids if c in similarity}
    chosen: list[ScoredChunk] = []
    documents: set[str] = set()
    for chunk_id in sorted(pool, key=lambda c: (-similarity[c], c)):
        document = doc_of.get(chunk_id, chunk_id)
        if document in documents:
            continue
        documents.add(document)
        chosen.append(ScoredChunk(chunk_id, 1.0 / (1 + len(chosen))))
        if len(chosen) == limit:
            break
    return chosen
