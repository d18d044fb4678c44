"""TreeHop multi-hop retrieval: hop from the first passages to the ones they lead to (``retrieval/treehop``).

``load_treehop`` and ``store_mentions`` build the retriever this signal runs (``HybridRetriever.open``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from graph.store.base import GraphStore
from ingest.embedder import Embedder
from ingest.errors import AmalgamError
from retrieval.signals.base import QuestionContext, Ranking
from retrieval.signals.dense import dense_hits
from retrieval.types import Query, Retriever, ScoredChunk

UNAVAILABLE_NOTE = "multi-hop retriever unavailable (no TreeHop model for this embedder)"


@runtime_checkable
class HopsFromDenseHits(Protocol):
    """A multi-hop retriever whose first hop is the question's own dense ranking (``TreeHopRetriever``)."""

    top_n: int

    def search(self, query: Query, k: int, *, first_hop: Sequence[ScoredChunk] | None = None) -> list[ScoredChunk]: ...


class TreeHopSignal:
    name = "treehop"

    def rank(self, context: QuestionContext) -> Ranking:
        multihop = context.multihop
        if multihop is None:
            return Ranking(self.name, notes=(UNAVAILABLE_NOTE,))
        if isinstance(multihop, HopsFromDenseHits) and context.depth >= multihop.top_n:
            # Hop 1 is the dense signal's search: share it instead of scanning the index a second time.
            return Ranking(
                self.name, tuple(multihop.search(context.query, context.depth, first_hop=dense_hits(context)))
            )
        return Ranking(self.name, tuple(multihop.search(context.query, context.depth)))


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
        return None  # the signal says so, and the multihop mode falls back to dense
    return TreeHopRetriever(index, model, mentions=mentions)  # type: ignore[no-any-return]


def store_mentions(store: GraphStore, embedder: Embedder, *, names: Any = None) -> Any:
    """The graph's entity names of each chunk as TreeHop contexts, embedded by the retrieval embedder when
    first needed. ``names`` (a ``NameVectors``) holds the names embedded so far; the engine keeps one per
    workspace, so a retriever opened after an ingest starts warm."""
    from retrieval.treehop.mentions import StoreMentions

    return StoreMentions(store, names if names is not None else name_vectors(embedder))


def name_vectors(embedder: Embedder) -> Any:
    """An empty ``NameVectors`` for this embedder (tagged with its model, so a cache of another is not read)."""
    from retrieval.treehop.mentions import NameVectors

    return NameVectors(embedder.embed, getattr(embedder, "model_name", ""))
