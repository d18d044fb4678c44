"""Retrieval signals by name. To add one: write ``retrieval/signals/<name>.py`` with a class that has a
``name`` and ``rank(context) -> Ranking`` (``base.py``), and add a line to ``_FACTORIES``; a mode
(``retrieval/modes.py``) or ``HybridRetriever.rank(signals=...)`` can then ask for it by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ingest.errors import UnknownComponentError
from retrieval.signals.base import Signal
from retrieval.signals.bm25 import BM25Signal
from retrieval.signals.community import CommunitySignal
from retrieval.signals.dense import DenseSignal
from retrieval.signals.graph import GraphSignal
from retrieval.signals.treehop import TreeHopSignal

# The order is the order signals are computed in and their rankings reach fusion (dense first: the graph's
# PPR starts from it); it also breaks ties in a fused hit's list of the signals that found it.
_FACTORIES: dict[str, Callable[[], Signal]] = {
    "dense": DenseSignal,
    "ppr": lambda: GraphSignal("ppr"),
    "proximity": lambda: GraphSignal("proximity"),
    "role": lambda: GraphSignal("role"),
    "bm25": BM25Signal,
    "treehop": TreeHopSignal,
    "community": CommunitySignal,
}

SIGNAL_NAMES = tuple(_FACTORIES)


def check_signals(names: Iterable[str]) -> None:
    """Raise ``UnknownComponentError`` (listing the known names) for a name no signal has."""
    for name in names:
        if name not in _FACTORIES:
            raise UnknownComponentError("retrieval signal", name, list(_FACTORIES))


def build_signals(names: Iterable[str] | None = None) -> dict[str, Signal]:
    """The named signals (all by default) by name, in computation order (``SIGNAL_NAMES``), each once."""
    wanted = set(_FACTORIES if names is None else names)
    check_signals(wanted)
    return {name: factory() for name, factory in _FACTORIES.items() if name in wanted}
