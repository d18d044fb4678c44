"""Signals of one question run on threads of their own, and share a computation exactly once."""

from __future__ import annotations

import threading
import time

import numpy as np

from retrieval.signals.base import QuestionContext, Ranking, rank_concurrently
from retrieval.types import Query, ScoredChunk


def _context() -> QuestionContext:
    # The parts no test signal reads are left out.
    return QuestionContext(Query("q", np.zeros(4)), 5, None, None, None, None, frozenset())  # type: ignore[arg-type]


class _Waiting:
    """A signal that answers only once the other one has started: run one after the other, it times out."""

    def __init__(self, name: str, started: threading.Event, other: threading.Event) -> None:
        self.name, self.started, self.other = name, started, other

    def rank(self, context: QuestionContext) -> Ranking:
        self.started.set()
        met = self.other.wait(timeout=10)
        return Ranking(self.name, (ScoredChunk(f"{self.name}-chunk", 1.0 if met else 0.0),))


def test_signals_run_at_the_same_time_and_come_back_in_the_asked_order() -> None:
    first, second = threading.Event(), threading.Event()
    rankings = rank_concurrently(_context(), [_Waiting("b", first, second), _Waiting("a", second, first)])
    assert list(rankings) == ["b", "a"]
    assert [r.hits[0].score for r in rankings.values()] == [1.0, 1.0]


def test_a_shared_computation_runs_once_however_many_threads_ask() -> None:
    context, calls = _context(), []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 42

    class Asking:
        def __init__(self, name: str) -> None:
            self.name = name

        def rank(self, context: QuestionContext) -> Ranking:
            return Ranking(self.name, (ScoredChunk("c", float(context.once("shared", slow))),))

    rankings = rank_concurrently(context, [Asking("x"), Asking("y"), Asking("z")])
    assert calls == [1] and {r.hits[0].score for r in rankings.values()} == {42.0}
