"""Fusion methods by name. To add one: write ``retrieval/fusion/<name>.py`` with a class that has a ``name``,
``weighs``, ``fits`` and ``fuse`` (``base.py``), and add a line to ``_FACTORIES``; a mode
(``retrieval/modes.py``) or ``HybridRetriever.rank(fusion=...)`` can then ask for it by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.errors import UnknownComponentError
from retrieval.fusion.base import Fusion
from retrieval.fusion.learned import LearnedFusion, LearnedRanking
from retrieval.fusion.rrf import FusionWeights, WeightedRRF


@dataclass(frozen=True)
class FusionParts:
    """What a fusion method may be built from: the RRF weights and the loaded learned model (if any)."""

    weights: FusionWeights
    learned: LearnedFusion | None = None


def _learned(parts: FusionParts) -> Fusion | None:
    return LearnedRanking(parts.learned, parts.weights) if parts.learned is not None else None


# A factory returns None when its method cannot run here (no model file): weighted RRF then fuses.
_FACTORIES: dict[str, Callable[[FusionParts], Fusion | None]] = {
    "rrf": lambda parts: WeightedRRF(parts.weights),
    "learned": _learned,
}

FUSION_NAMES = tuple(_FACTORIES)


def check_fusion(name: str) -> None:
    """Raise ``UnknownComponentError`` (listing the known names) for a name no fusion method has."""
    if name not in _FACTORIES:
        raise UnknownComponentError("fusion", name, list(_FACTORIES))


def build_fusion(name: str, parts: FusionParts) -> Fusion | None:
    """The fusion method called ``name`` built from ``parts``, or None when it cannot run here."""
    check_fusion(name)
    return _FACTORIES[name](parts)
