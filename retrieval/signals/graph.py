"""The graph's three signals (``retrieval/graph.py``): personalized PageRank from the entities the question
names, proximity to them, and structural role. One subgraph read serves all three, so they are three
registered signals over one computation per question, which computes only the ones asked for."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from retrieval.signals.base import QuestionContext, Ranking
from retrieval.signals.dense import dense_hits

if TYPE_CHECKING:
    from retrieval.graph import GraphSignals

GRAPH_SIGNALS = ("ppr", "proximity", "role")


def graph_signals(context: QuestionContext) -> GraphSignals:
    """The graph's rankings for this question, computed once; PPR also starts lightly from the dense hits."""

    def compute() -> GraphSignals:
        asked = context.wanted & set(GRAPH_SIGNALS)
        prepared = context.prepared_graph.result() if context.prepared_graph is not None else None
        hits = partial(dense_hits, context)  # searched (or waited for) only when PPR needs it
        return context.graph.signals(context.query, context.depth, hits, compute=asked, prepared=prepared)

    return context.once("graph", compute)


class GraphSignal:
    """One of the graph's rankings; the question's linked entities and the computation's notes ride along
    (the retriever reports each note once)."""

    def __init__(self, name: str) -> None:
        if name not in GRAPH_SIGNALS:
            raise ValueError(f"graph signal must be one of {GRAPH_SIGNALS}, got {name!r}")
        self.name = name

    def rank(self, context: QuestionContext) -> Ranking:
        graph = graph_signals(context)
        return Ranking(self.name, tuple(getattr(graph, self.name)), tuple(graph.links), tuple(graph.notes))
