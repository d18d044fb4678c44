"""Chunkers by name. ``perplexity`` is the default; it falls back to ``semantic`` (and that to
``fixed``) with a logged warning when what it needs is missing, so ingestion never stops for it.

To add a chunker: subclass ``ingest.chunking.base.Chunker`` (or ``GapScoringChunker`` to reuse
sentence splitting and dynamic merging) in its own file and add a builder to ``_BUILDERS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.chunking.base import Chunker
from ingest.chunking.fixed import FixedChunker
from ingest.chunking.lm import load_lm
from ingest.chunking.margin import MarginChunker
from ingest.chunking.perplexity import PerplexityChunker
from ingest.chunking.semantic import SemanticChunker
from ingest.chunking.sentence import SentenceWindowChunker
from ingest.embedder import Embedder
from ingest.errors import AmalgamError, UnknownComponentError

log = logging.getLogger(__name__)

_Builder = Callable[[int, int, "Embedder | None", str], Chunker]


def _fixed(target: int, maximum: int, embedder: Embedder | None, lm: str) -> Chunker:
    return FixedChunker(target_tokens=target)


def _sentence(target: int, maximum: int, embedder: Embedder | None, lm: str) -> Chunker:
    return SentenceWindowChunker(target_tokens=target, max_tokens=maximum)


def _semantic(target: int, maximum: int, embedder: Embedder | None, lm: str) -> Chunker:
    if embedder is None:
        log.warning("semantic chunking needs an embedder; falling back to fixed-size chunks")
        return _fixed(target, maximum, embedder, lm)
    return SemanticChunker(embedder, target_tokens=target, max_tokens=maximum)


def _with_lm(kind: type[PerplexityChunker] | type[MarginChunker]) -> _Builder:
    def build(target: int, maximum: int, embedder: Embedder | None, lm: str) -> Chunker:
        try:
            model = load_lm(lm)  # cached per process; loading here lets us fall back early
        except AmalgamError as exc:
            log.warning("%s chunking unavailable (%s); falling back to semantic chunking", kind.name, exc)
            return _semantic(target, maximum, embedder, lm)
        return kind(target_tokens=target, max_tokens=maximum, lm=model)

    return build


_BUILDERS: dict[str, _Builder] = {
    "fixed": _fixed,
    "sentence": _sentence,
    "semantic": _semantic,
    "perplexity": _with_lm(PerplexityChunker),
    "margin": _with_lm(MarginChunker),
}

CHUNKER_NAMES = tuple(_BUILDERS)


def build_chunker(
    name: str,
    *,
    target_tokens: int = 200,
    max_tokens: int = 400,
    embedder: Embedder | None = None,
    lm: str = "smollm2",
) -> Chunker:
    """The chunker called ``name``; raises ``UnknownComponentError`` for an unknown name."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise UnknownComponentError("chunker", name, list(_BUILDERS))
    if not 0 < target_tokens <= max_tokens:
        raise ValueError("need 0 < target_tokens <= max_tokens")
    return builder(target_tokens, max_tokens, embedder, lm)
