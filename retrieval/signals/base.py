"""What a retrieval signal is: one protocol, one typed ranking, one per-question context.

A signal reads the question and the retriever's parts from a ``QuestionContext`` and returns a ``Ranking``
(chunk ids best first). Signals that come out of one computation (the graph's PPR, proximity and role)
share it through ``QuestionContext.once``, so it runs once per question however many of them are asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # annotations only: modes and settings import this module and stay light
    from graph.store.base import GraphStore
    from retrieval.communities import CommunityIndex
    from retrieval.global_search import CommunityHit
    from retrieval.graph import GraphRetriever, PreparedGraph
    from retrieval.index.indexset import IndexSet
    from retrieval.types import EntityLink, Query, Retriever, ScoredChunk

T = TypeVar("T")


@dataclass(frozen=True)
class Ranking:
    """One signal's answer to one question: chunk hits best first, the question's entities it linked (graph
    signals), notes for the user (why it is empty, say), and the communities its hits come from (global
    search)."""

    signal: str
    hits: tuple[ScoredChunk, ...] = ()
    links: tuple[EntityLink, ...] = ()
    notes: tuple[str, ...] = ()
    communities: tuple[CommunityHit, ...] = ()


@dataclass
class QuestionContext:
    """One question as every signal and fusion sees it: the query, how deep to rank, the retriever's parts,
    the signals asked for, and a cache for work that several signals share."""

    query: Query
    depth: int
    store: GraphStore
    indexes: IndexSet
    graph: GraphRetriever
    multihop: Retriever | None
    wanted: frozenset[str]
    communities: CommunityIndex | None = None  # the workspace's searchable communities (global search)
    prepared_graph: Future[PreparedGraph] | None = None  # the graph's text-only part, started before the embedding
    _shared: dict[str, Any] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``'s value, computed the first time ``key`` is asked for in this question only. Signals
        run on several threads: a second asker of ``key`` waits for the first one's value."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._shared:
                self._shared[key] = compute()
            return self._shared[key]  # type: ignore[no-any-return]


class Signal(Protocol):
    """A retrieval signal: a name (the key of its ranking and of its fusion weight) and a ranking."""

    name: str

    def rank(self, context: QuestionContext) -> Ranking:
        """Up to ``context.depth`` chunks, best first; an empty ranking (with a note) when it cannot answer."""
        ...


def rank_concurrently(context: QuestionContext, signals: Sequence[Signal]) -> dict[str, Ranking]:
    """Each signal's ranking by name, the signals run on threads of their own.

    The expensive signals spend most of their time outside the GIL (the graph's SQLite reads and sparse
    algebra, TreeHop's FAISS searches, BM25's numpy), so on several cores a question waits for its slowest
    signal rather than for the sum of them. Signals that share a computation share it through ``once``.
    """
    if len(signals) < 2:
        return {signal.name: signal.rank(context) for signal in signals}
    with ThreadPoolExecutor(max_workers=len(signals), thread_name_prefix="signal") as pool:
        futures = {signal.name: pool.submit(signal.rank, context) for signal in signals}
        return {name: future.result() for name, future in futures.items()}


def start(compute: Callable[[], T], name: str) -> Future[T]:
    """``compute()`` on a thread of its own, started now; its value (or its exception) comes through the
    future."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return pool.submit(compute)
    finally:
        pool.shutdown(wait=False)  # the thread ends once compute returns
