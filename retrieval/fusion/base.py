"""What a fusion method is: one protocol that turns the signals' rankings of a question into one ranking."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from retrieval.signals.base import QuestionContext, Ranking


@dataclass
class FusedHit:
    chunk_id: str
    score: float
    retrievers: list[str] = field(default_factory=list)  # signals that ranked it, strongest contribution first


class Fusion(Protocol):
    name: str

    def weighs(self, signal: str) -> bool:
        """Whether ``signal`` can change this fusion's ranking (one that cannot is not computed at all)."""
        ...

    def fits(self, signals: Collection[str]) -> bool:
        """Whether this fusion can rank this set of asked-for signals (else weighted RRF ranks)."""
        ...

    def fuse(self, rankings: Mapping[str, Ranking], context: QuestionContext, limit: int) -> list[FusedHit]:
        """Up to ``limit`` chunks, best first, from the signals' rankings of the question in ``context``."""
        ...
