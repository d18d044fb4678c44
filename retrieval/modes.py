"""Retrieval modes, each declared once: a named list of signals, a fusion, and what to do when the mode's
own signals cannot answer. Settings, the REST schema and the CLI read the names from ``MODE_NAMES``.

A fallback is a rule over the rankings: when every one of ``when_empty`` came back empty, the signals in
``use`` are added and ``note`` tells the user; ``otherwise`` is the note when they did not.

A mode with a ``global_alternative`` hands a question to that mode when ``retrieval/auto.py`` judges the
question to be about the collection as a whole (its form, and how spread its first hits are over the
graph's communities); the choice and its reason go into the notes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.errors import UnknownComponentError
from retrieval.signals.graph import GRAPH_SIGNALS

if TYPE_CHECKING:
    from retrieval.signals.base import Ranking


@dataclass(frozen=True)
class Fallback:
    when_empty: tuple[str, ...]
    use: tuple[str, ...]
    note: str
    otherwise: str = ""

    def applies(self, rankings: Mapping[str, Ranking]) -> bool:
        """True when none of ``when_empty`` ranked anything (a signal not computed counts as empty)."""
        return not any(rankings[name].hits for name in self.when_empty if name in rankings)


@dataclass(frozen=True)
class Mode:
    name: str
    signals: tuple[str, ...]
    fusion: str  # a name in retrieval/fusion/registry.py; RRF stands in where it cannot run
    fallback: Fallback | None = None
    summary: str = ""
    global_alternative: str = ""


HYBRID_SIGNALS = ("dense", "bm25", *GRAPH_SIGNALS, "treehop")

_MODES = (
    Mode("dense", ("dense",), "rrf", summary="embedding similarity alone"),
    Mode(
        "hybrid",
        HYBRID_SIGNALS,
        "learned",
        summary="every signal, fused by the learned model (RRF when it is missing)",
    ),
    Mode(
        "graph",
        GRAPH_SIGNALS,
        "rrf",
        Fallback(GRAPH_SIGNALS, ("dense", "bm25"), "graph mode fell back to dense+bm25"),
        summary="the entity graph (PPR, proximity, role); dense+bm25 when the question links to no entity",
    ),
    Mode(
        "multihop",
        ("treehop",),
        "rrf",
        Fallback(("treehop",), ("dense",), "multihop mode fell back to dense"),
        summary="TreeHop's hops from passage to passage; dense when TreeHop is unavailable",
    ),
    Mode(
        "global",
        ("community",),
        "rrf",
        Fallback(("community",), ("dense", "bm25"), "global mode fell back to dense+bm25"),
        summary="the community hierarchy: summaries of the communities a question is about, and their central "
        "chunks; dense+bm25 while the workspace has no communities",
    ),
    Mode(
        "auto",
        HYBRID_SIGNALS,
        "learned",
        Fallback(GRAPH_SIGNALS, (), "auto mode: dense+bm25+treehop (no graph link)", otherwise="auto mode: hybrid"),
        summary="hybrid, or global for a question about the whole collection; the notes say which and why",
        global_alternative="global",
    ),
)
MODES: dict[str, Mode] = {mode.name: mode for mode in _MODES}
MODE_NAMES = tuple(MODES)
DEFAULT_MODE = "hybrid"


def mode_named(name: str) -> Mode:
    """The mode called ``name``; ``UnknownComponentError`` (listing the known names) for any other."""
    mode = MODES.get(name)
    if mode is None:
        raise UnknownComponentError("retrieval mode", name, list(MODES))
    return mode
