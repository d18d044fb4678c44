"""Global search: rank the workspace's communities against a question, pick some across levels, and
turn them into chunk evidence, so answers cite real documents.

A question about the whole collection ("Which painters are described in these documents?") asks for a
kind of thing, not for one fact, so its words that point at the collection or ask for a list say nothing
about which passages answer it: its *focus* ("painters") is what summaries and chunks are matched with.

Communities are ranked by four votes fused by reciprocal rank: the question's similarity to the summary
(embedding), BM25 of the focus over title and summary, membership of the entities the question links to,
and the evidence vote: the communities that hold the chunks best matching the question (dense search of
the question, BM25 of its focus), each chunk crediting the communities of the entities it mentions. Picking
walks that ranking and skips a community nested in one already picked (its ancestor or its descendant says
the same thing with more or fewer members), and one holding most of the workspace (it is about everything,
so about nothing in particular). Evidence: the matching chunks that lie in the picked communities, best
match first, then the picked communities' central chunks, most similar to the question first; one chunk
per document throughout.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from retrieval.communities import CommunityIndex
from retrieval.fusion.rrf import weighted_rrf
from retrieval.types import EntityLink, Query, ScoredChunk

RRF_K = 10
VOTE_WEIGHTS = {"summary": 1.0, "bm25": 0.75, "entities": 1.0, "evidence": 1.0}
MAX_SHARE = 0.5  # a community holding more of the workspace's entities than this is skipped
MATCH_RRF_K = 60  # dense and focus-BM25 chunk rankings fused as in weighted RRF's default

# Words that point at the collection or ask for a listing: they match every passage equally (or none).
_NOT_FOCUS = re.compile(
    r"\b(?:described|mentioned|discussed|covered|listed|named|featured|documents?|docs|papers|reports|"
    r"articles|passages|texts|collection|corpus|files|sources|dataset|list|name)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CommunityHit:
    community_id: str
    score: float
    votes: tuple[str, ...]  # which votes ranked it, strongest first
    chunk_ids: tuple[str, ...] = ()  # the evidence chunks it gave (``credit``), best first


def question_focus(text: str) -> str:
    """The question without the words that point at the collection or ask for a list; the whole question
    when nothing else is left."""
    focus = " ".join(_NOT_FOCUS.sub(" ", text).split())
    return focus if re.search(r"\w", focus) else text


def match_chunks(dense: Sequence[ScoredChunk], sparse: Sequence[ScoredChunk]) -> list[str]:
    """Chunk ids by reciprocal-rank fusion of the dense ranking and the focus's BM25 ranking."""
    return [hit.chunk_id for hit in weighted_rrf({"dense": dense, "bm25": sparse}, k_rrf=MATCH_RRF_K)]


def chunk_communities(index: CommunityIndex, entities_of: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Chunk id -> the communities (every level) holding an entity it mentions."""
    found: dict[str, list[str]] = {}
    for chunk_id, entity_ids in entities_of.items():
        seen = dict.fromkeys(c for e in entity_ids for c in index.of_entity.get(e, ()))
        if seen:
            found[chunk_id] = list(seen)
    return found


def rank_communities(
    index: CommunityIndex,
    query: Query,
    links: Sequence[EntityLink],
    depth: int = 50,
    *,
    focus: str | None = None,
    matched: Sequence[str] = (),
    homes: Mapping[str, Sequence[str]] | None = None,
) -> list[CommunityHit]:
    """Every community any vote ranks, best first (ties by id). ``matched``: the chunks best matching the
    question, best first; ``homes``: the communities of each (their evidence vote)."""
    if not len(index):
        return []
    ids = [c.id for c in index.communities]
    similarity = index.vectors @ np.asarray(query.embedding, dtype=np.float32)
    order = np.argsort(-similarity, kind="stable")[:depth]
    votes: dict[str, list[str]] = {
        "summary": [ids[i] for i in order],
        "bm25": [hit.chunk_id for hit in index.bm25.search(focus or query.text, depth)],
        "entities": _by_membership(index, links)[:depth],
        "evidence": _by_evidence(index, matched, homes or {})[:depth],
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


def _by_evidence(index: CommunityIndex, matched: Sequence[str], homes: Mapping[str, Sequence[str]]) -> list[str]:
    """Communities by the reciprocal ranks of the matching chunks they hold (smaller first on ties)."""
    mass: dict[str, float] = {}
    for rank, chunk_id in enumerate(matched, start=1):
        for community_id in homes.get(chunk_id, ()):
            if community_id in index.by_id:
                mass[community_id] = mass.get(community_id, 0.0) + 1.0 / (RRF_K + rank)
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
    *,
    matched: Sequence[str] = (),
    homes: Mapping[str, Sequence[str]] | None = None,
) -> list[ScoredChunk]:
    """Chunk evidence from the picked communities: first the ``matched`` chunks (best first) that lie in one
    of them (``homes``: each chunk's communities), then their central chunks, most similar to the question
    first; one per document. ``similarity`` holds the question's cosine with each central chunk (a chunk
    missing from it is no longer indexed)."""
    ids = {hit.community_id for hit in picked}
    inside = [c for c in matched if ids.intersection((homes or {}).get(c, ()))]
    central = {c for community_id in ids for c in index.by_id[community_id].chunk_ids if c in similarity}
    ordered = [*inside, *sorted(central, key=lambda c: (-similarity[c], c))]
    chosen: list[ScoredChunk] = []
    documents: set[str] = set()
    for chunk_id in ordered:
        document = doc_of.get(chunk_id, chunk_id)
        if document in documents:
            continue
        documents.add(document)
        chosen.append(ScoredChunk(chunk_id, 1.0 / (1 + len(chosen))))
        if len(chosen) == limit:
            break
    return chosen


def credit(
    index: CommunityIndex,
    picked: Sequence[CommunityHit],
    hits: Sequence[ScoredChunk],
    homes: Mapping[str, Sequence[str]],
) -> list[CommunityHit]:
    """The picked communities, each with the evidence chunks it gave: a chunk goes to the best-ranked picked
    community that holds one of its entities or lists it among its central chunks."""
    given: dict[str, list[str]] = {hit.community_id: [] for hit in picked}
    for hit in hits:
        holders = set(homes.get(hit.chunk_id, ()))
        for community in picked:
            if community.community_id in holders or hit.chunk_id in index.by_id[community.community_id].chunk_ids:
                given[community.community_id].append(hit.chunk_id)
                break
    return [replace(hit, chunk_ids=tuple(given[hit.community_id])) for hit in picked]
