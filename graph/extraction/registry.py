"""Extractors by name: ``spacy`` (offline named entities and dependency relations) and ``llm`` (any
LangChain chat model, with structured output, repair and gleaning).

To add an extractor: subclass ``graph.extraction.base.Extractor`` in its own file and add a builder to
``_BUILDERS``. Builders import their module lazily, so choosing spaCy never imports LangChain and back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graph.extraction.base import Extractor
from ingest.errors import ConfigError, UnknownComponentError


@dataclass(frozen=True)
class ExtractorOptions:
    """What an extractor may need; each builder takes what applies to it."""

    chat_model: Any = None  # a LangChain chat model, or None offline
    entity_types: list[str] = field(default_factory=list)
    relation_types: list[str] = field(default_factory=list)
    gleaning: int = 0
    concurrency: int = 4


def _spacy(options: ExtractorOptions) -> Extractor:
    from graph.extraction.spacy import SpacyExtractor

    return SpacyExtractor()


def _llm(options: ExtractorOptions) -> Extractor:
    if options.chat_model is None:
        raise ConfigError("extractor 'llm' needs an LLM: set AMALGAM_LLM_PROVIDER and AMALGAM_LLM_MODEL")
    from graph.extraction.llm import LLMExtractor

    return LLMExtractor(
        options.chat_model,
        entity_types=options.entity_types or None,
        relation_types=options.relation_types or None,
        gleaning=options.gleaning,
        concurrency=options.concurrency,
    )


_BUILDERS: dict[str, Callable[[ExtractorOptions], Extractor]] = {"spacy": _spacy, "llm": _llm}
EXTRACTOR_NAMES = tuple(_BUILDERS)


def build_extractor(name: str, options: ExtractorOptions) -> Extractor:
    """The extractor called ``name``; raises ``UnknownComponentError`` for an unknown name."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise UnknownComponentError("extractor", name, list(_BUILDERS))
    return builder(options)
