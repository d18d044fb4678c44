"""The hybrid retriever: dense + BM25 + graph (PPR, proximity, role) + TreeHop, fused, then assembled.

``retrieve(question, k=, mode=)`` is the one entry point; ``rank`` gives the fused ranking alone (the
evaluation harness uses it with an explicit set of signals). Modes and the signals they fuse:
dense (dense), graph (ppr, proximity, role; dense+bm25 when the graph abstains), multihop (treehop),
hybrid (all of them), auto (hybrid when the question links to the graph, else dense+bm25+treehop).
Hybrid and auto fuse with the learned model (``retrieval/learned_fusion.py``) when it is loaded; any other
set of signals, or ``fusion="rrf"``, with weighted reciprocal-rank fusion.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from graph.store.base import GraphStore
from ingest.embedder import Embedder
from ingest.errors import AmalgamError
from retrieval.errors import RetrievalError
from retrieval.fusion import FusedHit, Reranker, rerank_hits, weighted_rrf
from retrieval.graph import GraphRetriever, GraphSignals
from retrieval.index.indexset import IndexSet
from retrieval.learned_fusion import Candidates, LearnedFusion, candidate_ids
from retrieval.types import Evidence, Query, RetrievalResult, Retriever, ScoredChunk

MODES = ("dense", "hybrid", "graph", "multihop", "auto")
TREEHOP_CONTEXTS = ("mentions", "passage")
FUSIONS = ("auto", "rrf")  # auto: the learned fusion where it applies (hybrid and auto modes), else RRF
GRAPH_SIGNALS = ("ppr", "proximity", "role")
SIGNALS_BY_MODE: dict[str, tuple[str, ...]] = {
    "dense": ("dense",),
    "graph": GRAPH_SIGNALS,
    "multihop": ("treehop",),
    "hybrid": ("dense", "bm25", *GRAPH_SIGNALS, "treehop"),
}
EMPTY_NOTE = "the workspace has no indexed chunks yet: ingest documents first"


@dataclass
class FusionWeights:
    """Weights of each signal in reciprocal-rank fusion (0 disables a signal).

    Defaults chosen on the train split only (``amalgam eval tune-fusion``, docs/bench-retrieval.md), with
    TreeHop's mention queries (no model trained on those questions): PPR counts double, TreeHop one and a
    half, proximity adds little once PPR and role are in, and a small RRF offset trusts each signal's first
    places more than the textbook 60."""

    dense: float = 1.0
    bm25: float = 0.75
    ppr: float = 2.0
    proximity: float = 0.25
    role: float = 0.5
    treehop: float = 1.5
    rrf_k: int = 10  # the rank offset of RRF: lower trusts each signal's first places more

    def as_dict(self) -> dict[str, float]:
        """The signal weights alone (``rrf_k`` is not a signal)."""
        return {name: value for name, value in asdict(self).items() if name != "rrf_k"}


def load_treehop(index: Any, dim: int, mentions: Any = None) -> Retriever | None:
    """TreeHop over this index: next queries from the entities a passage names when ``mentions`` (a
    ``MentionSource``) is given, else from the shipped model; None when neither is available."""
    try:
        from retrieval.treehop.model import TreeHopModel
        from retrieval.treehop.search import TreeHopRetriever
    except ImportError:
        return None
    try:
        model = TreeHopModel.load_default()
    except (OSError, ValueError, AttributeError, AmalgamError):
        model = None  # no shipped weights: only mention queries can hop
    if model is not None and getattr(model, "embed_dim", dim) != dim:
        model = None
    if model is None and mentions is None:
        return None  # the multihop mode says so and uses dense
    return TreeHopRetriever(index, model, mentions=mentions)  # type: ignore[no-any-return]


def store_mentions(store: GraphStore, embedder: Embedder, *, warm_cache: Path | None = None) -> Any:
    """The graph's entity names of each chunk as TreeHop contexts, embedded by the retrieval embedder.

    Names are embedded when first needed; with ``warm_cache`` every name in the store is embedded now
    (reading that file first and updating it), so that no question pays for it (benchmarks)."""
    from retrieval.treehop.mentions import NameVectors, StoreMentions

    mentions = StoreMentions(store, NameVectors(embedder.embed, getattr(embedder, "model_name", "")))
    if warm_cache is not None:
        mentions.warm(warm_cache)
    return mentions


def load_learned_fusion() -> LearnedFusion | None:
    """The shipped learned fusion, or None (RRF then fuses alone) when it is missing or outdated."""
    try:
        return LearnedFusion.load()
    except AmalgamError:
        return None


def estimate_tokens(text: str) -> int:
    """Rough token count (~4/3 tokens per word) good enough for a context budget."""
    return max(1, len(text.split()) * 4 // 3)


def assemble_evidence(
    store: GraphStore, fused: list[FusedHit], *, k: int, token_budget: int
) -> tuple[list[Evidence], list[str]]:
    """Top chunks within the token budget (the first always fits), with document, page, entities and the
    relations that connect them; chunks whose text repeats an earlier one are dropped."""
    chunks = {c.id: c for c in store.get_chunks([h.chunk_id for h in fused])}
    chosen: list[tuple[FusedHit, Any]] = []
    seen_texts: set[str] = set()
    used = 0
    for hit in fused:
        chunk = chunks.get(hit.chunk_id)
        if chunk is None:
            continue
        key = " ".join(chunk.text.lower().split())
        cost = estimate_tokens(chunk.text)
        if key in seen_texts or (chosen and used + cost > token_budget):
            continue
        seen_texts.add(key)
        chosen.append((hit, chunk))
        used += cost
        if len(chosen) == k:
            break
    entity_ids = store.entities_of_chunks([chunk.id for _, chunk in chosen])
    all_ids = sorted({e for ids in entity_ids.values() for e in ids})
    names = {e.id: e.name for e in store.get_entities(all_ids)}
    documents = {d: store.get_document(d) for d in {chunk.doc_id for _, chunk in chosen}}
    evidence = []
    for hit, chunk in chosen:
        doc = documents.get(chunk.doc_id)
        evidence.append(
            Evidence(
                chunk=chunk,
                title=doc.title if doc else "",
                source=doc.source if doc else "",
                score=hit.score,
                retrievers=hit.retrievers,
                entities=[names[e] for e in entity_ids.get(chunk.id, []) if e in names],
            )
        )
    return evidence, _connecting_relations(store, set(all_ids), names)


def _connecting_relations(store: GraphStore, entity_ids: set[str], names: dict[str, str]) -> list[str]:
    """Relations whose two ends both appear in the evidence, strongest first."""
    if not entity_ids:
        return []
    inside = [
        r for r in store.relations_of(sorted(entity_ids)) if r.source_id in entity_ids and r.target_id in entity_ids
    ]
    inside.sort(key=lambda r: -r.weight)
    return list(dict.fromkeys(f"{names[r.source_id]} -[{r.type}]-> {names[r.target_id]}" for r in inside))


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
        reranker: Reranker | None = None,
        token_budget: int = 2000,
        max_question_chars: int = 2000,
        candidates: int = 50,
    ) -> None:
        self.store, self.embedder, self.indexes = store, embedder, indexes
        self.graph = graph if graph is not None else GraphRetriever(store)
        self.multihop = multihop
        self.weights = weights or FusionWeights()
        self.learned = learned
        self.reranker = reranker
        self.token_budget = token_budget
        self.max_question_chars = max_question_chars
        self.candidates = candidates

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
        **options: Any,
    ) -> HybridRetriever:
        """Load the workspace's persisted FAISS/BM25 indexes (and the shipped TreeHop and fusion models).

        ``treehop_context``: "mentions" (next queries from the entities a passage names) or "passage" (from
        the passage vector through the shipped model)."""
        if treehop_context not in TREEHOP_CONTEXTS:
            raise ValueError(f"treehop_context must be one of {TREEHOP_CONTEXTS}, got {treehop_context!r}")
        indexes = IndexSet.open(workspace_dir, embedder.dim)
        mentions = store_mentions(store, embedder) if treehop_context == "mentions" else None
        multihop = load_treehop(indexes.dense, embedder.dim, mentions) if with_treehop else None
        reranker = None
        if reranker_path:
            from retrieval.fusion import CrossEncoderReranker

            reranker = CrossEncoderReranker(reranker_path)
        learned = load_learned_fusion() if with_learned_fusion else None
        return cls(
            store, embedder, indexes, multihop=multihop, weights=weights, learned=learned, reranker=reranker, **options
        )

    # -- input -------------------------------------------------------------------------------------
    def make_query(self, question: str, notes: list[str]) -> Query:
        text = " ".join(question.split())
        if not text:
            raise RetrievalError("the question is empty")
        if len(text) > self.max_question_chars:
            notes.append(f"question truncated from {len(text)} to {self.max_question_chars} characters")
            text = text[: self.max_question_chars]
        return Query(text, self.embedder.embed([text])[0])

    # -- ranking -----------------------------------------------------------------------------------
    def rank(
        self,
        question: str,
        *,
        k: int = 5,
        mode: str = "hybrid",
        signals: Collection[str] | None = None,
        fusion: str = "auto",
    ) -> tuple[list[FusedHit], Query, GraphSignals, list[str]]:
        """Fused ranking of up to ``k`` chunk ids; ``signals`` overrides the mode's set of signals.

        The learned fusion ranks when it is loaded, the mode is hybrid or auto and every hybrid signal is
        asked for (it was trained on all of them); otherwise, or with ``fusion="rrf"``, weighted RRF does."""
        if mode not in MODES:
            raise RetrievalError(f"unknown retrieval mode {mode!r}; known: {', '.join(MODES)}")
        if fusion not in FUSIONS:
            raise RetrievalError(f"unknown fusion {fusion!r}; known: {', '.join(FUSIONS)}")
        if k < 1:
            raise RetrievalError("k must be at least 1")
        notes: list[str] = []
        query = self.make_query(question, notes)
        if len(self.indexes) == 0:
            return [], query, GraphSignals(), [*notes, EMPTY_NOTE]
        wanted = set(signals if signals is not None else SIGNALS_BY_MODE.get(mode, SIGNALS_BY_MODE["hybrid"]))
        weights = self.weights.as_dict()
        # A signal the fusion weighs 0 is not computed at all (unless it is all that was asked for).
        wanted = {s for s in wanted if weights.get(s, 0.0) > 0} or wanted
        depth = max(self.candidates, k)
        rankings, graph = self.signal_rankings(query, wanted, mode=mode, depth=depth, notes=notes)
        every_signal = signals is None or set(signals) >= set(SIGNALS_BY_MODE["hybrid"])
        if self.learned is not None and fusion == "auto" and mode in ("hybrid", "auto") and every_signal:
            fused = self.learned.fuse(self.candidates_of(query, rankings, graph), limit=depth)
        else:
            fused = weighted_rrf(rankings, weights, k_rrf=self.weights.rrf_k, limit=depth)
        return fused, query, graph, notes

    def candidates_of(self, query: Query, rankings: dict[str, list[ScoredChunk]], graph: GraphSignals) -> Candidates:
        """What the learned fusion needs beyond the rankings: every candidate's dense cosine (from the index's
        stored vectors) and entities (one store read), and the entities the question names."""
        chunk_ids = candidate_ids(rankings)
        indexed = [c for c in chunk_ids if c in self.indexes.dense]
        cosines = dict(zip(indexed, (self.indexes.dense.reconstruct(indexed) @ query.embedding).tolist(), strict=True))
        entities = {c: set(ids) for c, ids in self.store.entities_of_chunks(chunk_ids).items()} if chunk_ids else {}
        return Candidates(
            rankings=rankings,
            cosines=cosines,
            entities=entities,
            question_entities={link.entity_id for link in graph.links if link.how == "alias"},
            rrf_weights=self.weights.as_dict(),
            rrf_k=self.weights.rrf_k,
        )

    def signal_rankings(
        self, query: Query, wanted: Collection[str], *, mode: str, depth: int, notes: list[str]
    ) -> tuple[dict[str, list[ScoredChunk]], GraphSignals]:
        """Each wanted signal's own ranking (``depth`` deep), fallbacks of the mode included, not yet fused."""
        wanted = set(wanted)
        rankings: dict[str, list[ScoredChunk]] = {}
        if wanted & {"dense", *GRAPH_SIGNALS} or mode in ("graph", "auto"):
            rankings["dense"] = self.indexes.dense.search(query.embedding, depth)
        graph = GraphSignals()
        if wanted & set(GRAPH_SIGNALS) or mode == "auto":
            compute = wanted & set(GRAPH_SIGNALS) if mode != "auto" else set(GRAPH_SIGNALS)
            graph = self.graph.signals(query, depth, rankings.get("dense", []), compute=compute)
            notes.extend(graph.notes)
            rankings.update(ppr=graph.ppr, proximity=graph.proximity, role=graph.role)
        wanted |= self._fallbacks(mode, wanted, graph, notes)
        if "dense" in wanted and "dense" not in rankings:
            rankings["dense"] = self.indexes.dense.search(query.embedding, depth)
        if "bm25" in wanted:
            rankings["bm25"] = self.indexes.sparse.search(query.text, depth)
        if "treehop" in wanted and self.multihop is not None:
            rankings["treehop"] = self.multihop.search(query, depth)
        return {name: ranking for name, ranking in rankings.items() if name in wanted}, graph

    def _fallbacks(self, mode: str, wanted: set[str], graph: GraphSignals, notes: list[str]) -> set[str]:
        """Signals added when the mode's own cannot answer, so a question still gets evidence."""
        abstained = not (graph.ppr or graph.proximity or graph.role)
        if mode == "auto":
            notes.append("auto mode: " + ("hybrid" if not abstained else "dense+bm25+treehop (no graph link)"))
            return {"dense", "bm25", "treehop"} | (set() if abstained else set(GRAPH_SIGNALS))
        if "treehop" in wanted and self.multihop is None:
            notes.append("multi-hop retriever unavailable (no TreeHop model for this embedder): using dense")
            return {"dense"} if mode == "multihop" else set()
        if mode == "graph" and abstained:
            notes.append("graph mode fell back to dense+bm25")
            return {"dense", "bm25"}
        return set()

    # -- full retrieval ----------------------------------------------------------------------------
    def retrieve(self, question: str, *, k: int = 5, mode: str = "hybrid") -> RetrievalResult:
        started = time.perf_counter()
        fused, query, graph, notes = self.rank(question, k=k, mode=mode)
        if fused and self.reranker is not None:
            texts = {c.id: c.text for c in self.store.get_chunks([h.chunk_id for h in fused[: 4 * k]])}
            fused = rerank_hits(query.text, fused[: 4 * k], texts, self.reranker)
        evidence, relations = assemble_evidence(self.store, fused, k=k, token_budget=self.token_budget)
        if fused and not evidence:
            notes.append("the index lists chunks the graph store does not have: re-ingest to repair")
        return RetrievalResult(
            question=query.text,
            mode=mode,
            evidence=evidence,
            entities=[link.name for link in graph.links],
            relations=relations,
            notes=notes,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
