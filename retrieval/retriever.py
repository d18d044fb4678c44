"""The hybrid retriever: a mode's signals, fused, then assembled into evidence.

``retrieve(question, k=, mode=)`` is the one entry point; ``rank`` gives the fused ranking alone and
``collect`` the signals' own rankings (the evaluation harness uses both). What runs is declared elsewhere:
signals in ``retrieval/signals/`` (one file each, registered by name), fusion methods in
``retrieval/fusion/``, and each mode once in ``retrieval/modes.py`` (its signals, its fusion, its fallback).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.store.base import GraphStore
from ingest.embedder import Embedder
from retrieval.auto import SPREAD_HITS, choose_scope, hit_spread
from retrieval.communities import CommunityIndex
from retrieval.context import assemble_evidence
from retrieval.errors import RetrievalError
from retrieval.fusion.base import FusedHit, Fusion
from retrieval.fusion.learned import Candidates, LearnedFusion, gather_candidates, load_learned_fusion
from retrieval.fusion.registry import FusionParts, build_fusion, check_fusion
from retrieval.fusion.rrf import FusionWeights, WeightedRRF
from retrieval.global_search import CommunityHit
from retrieval.graph import GraphRetriever, PreparedGraph
from retrieval.index.indexset import IndexSet
from retrieval.modes import DEFAULT_MODE, Mode, mode_named
from retrieval.rerank import CrossEncoderReranker, Reranker, rerank_hits
from retrieval.signals.base import QuestionContext, Ranking, rank_concurrently, start
from retrieval.signals.graph import GRAPH_SIGNALS
from retrieval.signals.registry import build_signals, check_signals
from retrieval.signals.treehop import load_treehop, store_mentions
from retrieval.treehop.mentions import NameVectors
from retrieval.types import CommunityEvidence, EntityLink, Evidence, Query, RetrievalResult, Retriever

TREEHOP_CONTEXTS = ("mentions", "passage")
EMPTY_NOTE = "the workspace has no indexed chunks yet: ingest documents first"

__all__ = ["HybridRetriever", "Ranked", "SignalRankings", "load_learned_fusion", "load_treehop", "store_mentions"]


@dataclass(frozen=True)
class SignalRankings:
    """One question's signals, not yet fused: each signal's own ranking (fallbacks included, in computation
    order), the graph entities the question linked to, and notes for the user."""

    query: Query
    rankings: dict[str, Ranking]
    links: list[EntityLink]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Ranked(SignalRankings):
    """The fused ranking (``hits``, best first) and the name of the fusion that ranked it."""

    hits: list[FusedHit]
    fusion: str


class HybridRetriever:
    def __init__(
        self,
        store: GraphStore,
        embedder: Embedder,
        indexes: IndexSet,
        *,
        graph: GraphRetriever | None = None,
        multihop: Retriever | None = None,
        weights: FusionWeights | None = None,
        learned: LearnedFusion | None = None,
        fusion: str | None = None,
        reranker: Reranker | None = None,
        token_budget: int = 2000,
        max_question_chars: int = 2000,
        candidates: int = 50,
        communities: CommunityIndex | None = None,
    ) -> None:
        self.store, self.embedder, self.indexes = store, embedder, indexes
        self.communities = communities  # global search's index; None: global mode answers locally
        self.graph = graph if graph is not None else GraphRetriever(store)
        self.multihop = multihop  # read at each question: the evaluation harness swaps TreeHop models in
        self.weights = weights or FusionWeights()
        self.learned = learned
        if fusion is not None:
            check_fusion(fusion)
        self.fusion_name = fusion  # the fusion every mode uses where it can rank; None: each mode's own
        self.reranker = reranker
        self.token_budget = token_budget
        self.max_question_chars = max_question_chars
        self.candidates = candidates  # how deep each signal ranks, and how many hits fusion keeps
        self.signals = build_signals()  # every registered signal by name, in computation order

    @classmethod
    def open(
        cls,
        store: GraphStore,
        embedder: Embedder,
        workspace_dir: Path,
        *,
        weights: FusionWeights | None = None,
        reranker_path: str = "",
        with_treehop: bool = True,
        treehop_context: str = "mentions",
        with_learned_fusion: bool = True,
        names: NameVectors | None = None,
        **options: Any,
    ) -> HybridRetriever:
        """Load the workspace's persisted FAISS/BM25 indexes (and the shipped TreeHop and fusion models).

        ``treehop_context``: "mentions" (next queries from the entities a passage names) or "passage" (from
        the passage vector through the shipped model); ``names``: the workspace's embedded entity names (a
        ``NameVectors``, kept by the engine across retrievers), else an empty one."""
        if treehop_context not in TREEHOP_CONTEXTS:
            raise ValueError(f"treehop_context must be one of {TREEHOP_CONTEXTS}, got {treehop_context!r}")
        indexes = IndexSet.open(workspace_dir, embedder.dim)
        mentions = store_mentions(store, embedder, names=names) if treehop_context == "mentions" else None
        multihop = load_treehop(indexes.dense, embedder.dim, mentions) if with_treehop else None
        reranker = CrossEncoderReranker(reranker_path) if reranker_path else None
        learned = load_learned_fusion() if with_learned_fusion else None
        communities = CommunityIndex.open(store, embedder.embed, workspace_dir / IndexSet.SUBDIR)
        return cls(
            store,
            embedder,
            indexes,
            multihop=multihop,
            weights=weights,
            learned=learned,
            reranker=reranker,
            communities=communities,
            **options,
        )

    # -- input -------------------------------------------------------------------------------------
    def make_query(self, question: str) -> Query:
        """The question as every signal sees it (whitespace collapsed, cut to ``max_question_chars``)."""
        return self._query(question)[0]

    def _query(self, question: str) -> tuple[Query, tuple[str, ...]]:
        text, notes = self._text(question)
        return Query(text, self.embedder.embed([text])[0]), notes

    def _text(self, question: str) -> tuple[str, tuple[str, ...]]:
        text = " ".join(question.split())
        if not text:
            raise RetrievalError("the question is empty")
        notes: tuple[str, ...] = ()
        if len(text) > self.max_question_chars:
            notes = (f"question truncated from {len(text)} to {self.max_question_chars} characters",)
            text = text[: self.max_question_chars]
        return text, notes

    def _embedded(
        self, question: str, signals: Collection[str]
    ) -> tuple[Query, tuple[str, ...], Future[PreparedGraph] | None]:
        """The question embedded, and the graph's text-only part (its alias links and the graph read around
        them) started on a thread before that when any of ``signals`` is the graph's: the embedding (torch,
        outside the GIL) and the graph read (SQLite) then overlap, ~10 ms of a question."""
        text, notes = self._text(question)
        wants_graph = bool(set(signals) & set(GRAPH_SIGNALS)) and len(self.indexes) > 0
        prepared = start(lambda: self.graph.prepare(text), "graph-read") if wants_graph else None
        return Query(text, self.embedder.embed([text])[0]), notes, prepared

    # -- ranking -----------------------------------------------------------------------------------
    def rank(
        self,
        question: str,
        *,
        k: int = 5,
        mode: str = DEFAULT_MODE,
        signals: Collection[str] | None = None,
        fusion: str | None = None,
    ) -> Ranked:
        """Fused ranking of at least ``k`` chunks (``candidates`` deep); ``signals`` overrides the mode's
        signals and ``fusion`` its fusion. A fusion that cannot rank here (the learned model is missing, or
        was not trained on this set of signals) leaves it to weighted RRF; a signal the fusion gives no
        weight is not computed, unless it is all that was asked for."""
        chosen = mode_named(mode)
        if fusion is not None:
            check_fusion(fusion)
        if k < 1:
            raise RetrievalError("k must be at least 1")
        local = tuple(signals) if signals is not None else chosen.signals
        check_signals(local)
        weighed = self.fusion_for(fusion or self.fusion_name or chosen.fusion, local).weighs
        query, notes, prepared = self._embedded(question, [name for name in local if weighed(name)] or local)
        if chosen.global_alternative and signals is None:
            chosen, notes = self._choose_scope(chosen, query, notes)
        asked = tuple(signals) if signals is not None else chosen.signals
        check_signals(asked)
        method = self.fusion_for(fusion or self.fusion_name or chosen.fusion, asked)
        wanted = [name for name in asked if method.weighs(name)] or list(asked)
        depth = max(self.candidates, k)
        context = self._context(query, wanted, depth, prepared)
        if context is None:
            return Ranked(query, {}, [], (*notes, EMPTY_NOTE), hits=[], fusion="")
        found = self._run(context, chosen, notes)
        hits = method.fuse(found.rankings, context, depth)
        return Ranked(found.query, found.rankings, found.links, found.notes, hits=hits, fusion=method.name)

    def collect(
        self, question: str, *, signals: Collection[str] | None = None, mode: str = DEFAULT_MODE, depth: int = 0
    ) -> SignalRankings:
        """Each signal's own ranking (``depth`` deep, ``candidates`` by default), unfused: every asked signal is
        computed, weighted or not (the evaluation harness featurises and re-weighs these)."""
        chosen = mode_named(mode)
        asked = tuple(signals) if signals is not None else chosen.signals
        check_signals(asked)
        query, notes, prepared = self._embedded(question, asked)
        context = self._context(query, asked, depth or self.candidates, prepared)
        if context is None:
            return SignalRankings(query, {}, [], (*notes, EMPTY_NOTE))
        return self._run(context, chosen, notes)

    def _choose_scope(self, mode: Mode, query: Query, notes: tuple[str, ...]) -> tuple[Mode, tuple[str, ...]]:
        """``mode`` or its global alternative for this question (``retrieval/auto.py``), the reason noted."""
        index = self.communities
        has_communities = index is not None and len(index) > 0
        spread = None
        if index is not None and has_communities and len(self.indexes):
            first = self.indexes.dense.search(query.embedding, SPREAD_HITS)
            spread = hit_spread([hit.chunk_id for hit in first], self.store, index)
        choice = choose_scope(query.text, spread, has_communities)
        chosen = mode_named(mode.global_alternative) if choice.use_global else mode
        return chosen, (*notes, choice.note)

    def fusion_for(self, name: str, signals: Collection[str]) -> Fusion:
        """The fusion method ``name`` for these signals, or weighted RRF (any signals, no model) where it
        cannot rank them."""
        method = build_fusion(name, FusionParts(self.weights, self.learned))
        return method if method is not None and method.fits(signals) else WeightedRRF(self.weights)

    def candidates_of(self, found: SignalRankings) -> Candidates:
        """What the learned fusion computes its features from, for these rankings (the training harness)."""
        return gather_candidates(found.rankings, found.query, self.store, self.indexes, self.weights)

    def _context(
        self, query: Query, wanted: Collection[str], depth: int, prepared: Future[PreparedGraph] | None = None
    ) -> QuestionContext | None:
        """The question's context for the signals; None when there is nothing to rank (no indexed chunk)."""
        if len(self.indexes) == 0:
            return None
        return QuestionContext(
            query,
            depth,
            self.store,
            self.indexes,
            self.graph,
            self.multihop,
            wanted=frozenset(wanted),
            communities=self.communities,
            prepared_graph=prepared,
        )

    def _run(self, context: QuestionContext, mode: Mode, notes: tuple[str, ...]) -> SignalRankings:
        """The wanted signals' rankings, then the mode's fallback signals when its own came back empty."""
        wanted = [signal for name, signal in self.signals.items() if name in context.wanted]
        rankings = rank_concurrently(context, wanted)
        said = [*notes, *(note for ranking in rankings.values() for note in ranking.notes)]
        fallback = mode.fallback
        if fallback is not None:
            applies = fallback.applies(rankings)
            said.append(fallback.note if applies else fallback.otherwise)
            for name in fallback.use if applies else ():
                if name not in rankings:
                    rankings[name] = self.signals[name].rank(context)
                    said.extend(rankings[name].notes)
        ordered = {name: rankings[name] for name in self.signals if name in rankings}
        links = {link.entity_id: link for ranking in ordered.values() for link in ranking.links}
        return SignalRankings(
            context.query, ordered, list(links.values()), tuple(dict.fromkeys(note for note in said if note))
        )

    # -- full retrieval ----------------------------------------------------------------------------
    def retrieve(self, question: str, *, k: int = 5, mode: str = DEFAULT_MODE) -> RetrievalResult:
        started = time.perf_counter()
        ranked = self.rank(question, k=k, mode=mode)
        fused, notes = ranked.hits, list(ranked.notes)
        if fused and self.reranker is not None:
            texts = {c.id: c.text for c in self.store.get_chunks([h.chunk_id for h in fused[: 4 * k]])}
            fused = rerank_hits(ranked.query.text, fused[: 4 * k], texts, self.reranker)
        evidence, relations = assemble_evidence(self.store, fused, k=k, token_budget=self.token_budget)
        if fused and not evidence:
            notes.append("the index lists chunks the graph store does not have: re-ingest to repair")
        picked = ranked.rankings["community"].communities if "community" in ranked.rankings else ()
        return RetrievalResult(
            question=ranked.query.text,
            mode=mode,
            evidence=evidence,
            communities=self._community_evidence(picked, evidence),
            entities=[link.name for link in ranked.links],
            relations=relations,
            notes=notes,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _community_evidence(
        self, picked: Collection[CommunityHit], evidence: list[Evidence]
    ) -> list[CommunityEvidence]:
        """The picked communities that contributed evidence, with the ids of the chunks they gave."""
        if self.communities is None:
            return []
        cited = {item.chunk.id for item in evidence}
        found = []
        for hit in picked:
            community = self.communities.by_id[hit.community_id]
            # global search credits each chunk it returned to one picked community (not only central chunks)
            given = [chunk_id for chunk_id in hit.chunk_ids if chunk_id in cited]
            if given:
                found.append(
                    CommunityEvidence(
                        id=community.id,
                        level=community.level,
                        title=community.title,
                        summary=community.summary,
                        size=community.size,
                        score=round(hit.score, 6),
                        chunk_ids=given,
                    )
                )
        return found
