"""Signals, fusion methods and modes are looked up by name; a mode's fallback is a rule over the rankings."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import UnknownComponentError
from retrieval.fusion.learned import FEATURES, LearnedFusion, LearnedRanking
from retrieval.fusion.learned import SIGNALS as LEARNED_SIGNALS
from retrieval.fusion.registry import FUSION_NAMES, FusionParts, build_fusion
from retrieval.fusion.rrf import FusionWeights, WeightedRRF
from retrieval.modes import MODE_NAMES, MODES, mode_named
from retrieval.signals.base import QuestionContext, Ranking
from retrieval.signals.registry import SIGNAL_NAMES, build_signals, check_signals
from retrieval.types import Query, ScoredChunk


def _context() -> QuestionContext:
    """A question with no parts: enough for what reads only the rankings (RRF) or the cache."""
    return QuestionContext(Query("q", np.zeros(4)), 5, None, None, None, None, frozenset())  # type: ignore[arg-type]


def _ranking(signal: str, *ids: str) -> Ranking:
    return Ranking(signal, tuple(ScoredChunk(c, 1.0) for c in ids))


def test_every_mode_names_registered_signals_and_a_registered_fusion() -> None:
    assert MODE_NAMES == ("dense", "hybrid", "graph", "multihop", "global", "auto")
    for mode in MODES.values():
        check_signals(mode.signals)
        assert mode.fusion in FUSION_NAMES
        if mode.fallback is not None:
            check_signals([*mode.fallback.when_empty, *mode.fallback.use])
    assert set(SIGNAL_NAMES) == {"dense", "bm25", "ppr", "proximity", "role", "treehop", "community"}
    assert list(build_signals(["treehop", "dense", "ppr"])) == ["dense", "ppr", "treehop"]  # computation order


def test_unknown_names_fail_with_the_known_ones() -> None:
    with pytest.raises(
        UnknownComponentError, match=r"unknown retrieval mode 'hybird'; known: auto, dense, global, graph"
    ):
        mode_named("hybird")
    with pytest.raises(UnknownComponentError, match="unknown retrieval signal 'vibes'; known: bm25, community, dense"):
        check_signals(["dense", "vibes"])
    with pytest.raises(UnknownComponentError, match="unknown fusion 'borda'; known: learned, rrf"):
        build_fusion("borda", FusionParts(FusionWeights()))


def test_graph_mode_falls_back_only_when_every_graph_signal_is_empty() -> None:
    fallback = mode_named("graph").fallback
    assert fallback is not None and fallback.use == ("dense", "bm25")
    empty = {name: Ranking(name) for name in ("ppr", "proximity", "role")}
    assert fallback.applies(empty)
    assert not fallback.applies({**empty, "role": _ranking("role", "c1")})
    assert fallback.applies({})  # a signal not computed has nothing to say either


def test_the_learned_fusion_needs_its_model_and_all_its_signals() -> None:
    assert build_fusion("learned", FusionParts(FusionWeights())) is None  # no model: RRF stands in
    n = len(FEATURES)
    model = LearnedFusion(features=list(FEATURES), mean=[0.0] * n, scale=[1.0] * n, weights=[0.0] * n, bias=0.0)
    learned = build_fusion("learned", FusionParts(FusionWeights(), model))
    assert isinstance(learned, LearnedRanking)
    assert learned.fits(LEARNED_SIGNALS) and not learned.fits(("dense", "bm25"))
    assert learned.weighs("proximity")


def test_weighted_rrf_fuses_rankings_and_weighs_only_positive_weights() -> None:
    rrf = build_fusion("rrf", FusionParts(FusionWeights(dense=1.0, bm25=0.0, rrf_k=10)))
    assert isinstance(rrf, WeightedRRF)
    assert rrf.weighs("dense") and not rrf.weighs("bm25")
    assert rrf.weighs("new-signal")  # one FusionWeights has no field for yet counts as much as dense
    rankings = {"dense": _ranking("dense", "a", "b"), "bm25": _ranking("bm25", "b")}
    hits = rrf.fuse(rankings, _context(), limit=5)
    assert [(h.chunk_id, h.retrievers) for h in hits] == [("a", ["dense"]), ("b", ["dense"])]
    assert [h.score for h in hits] == pytest.approx([1 / 11, 1 / 12])


def test_a_question_context_computes_shared_work_once() -> None:
    context = _context()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return 42

    assert context.once("graph", compute) == 42 and context.once("graph", compute) == 42
    assert len(calls) == 1
