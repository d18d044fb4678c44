"""Shared skeleton of the sentence-based chunkers: split, score the gaps, merge, build chunks.

A subclass only says how strong each gap between two sentences is and which gaps it declares
boundaries (:meth:`GapScoringChunker.score_gaps`); sizing, merging, the short-document shortcut and
the never-fail guarantee live here once.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.chunking.base import Chunker
from ingest.chunking.merge import merge_spans
from ingest.models import Chunk, Document
from ingest.sentences import Sentence, count_tokens, exceeds_tokens, split_document

log = logging.getLogger(__name__)

# Gaps are scored in sections of this many sentences (neighbouring sections share one sentence, so
# every gap is scored once): the model's working memory (token ids, embeddings) stays flat however
# long the document is, and the time grows linearly with it.
SECTION_SENTENCES = 1024


@dataclass(frozen=True)
class GapScores:
    """One entry per gap between consecutive sentences (``len(sentences) - 1``)."""

    strengths: list[float]  # higher = a more likely topic change
    boundaries: list[bool]  # gaps the chunker declares meta-chunk boundaries


def whole_text_chunk(doc: Document, chunker: str) -> list[Chunk]:
    """The document as one chunk (surrounding whitespace left out); none for blank text."""
    start = len(doc.text) - len(doc.text.lstrip())
    end = len(doc.text.rstrip())
    return [Chunk.from_span(doc, 0, start, end, chunker)] if start < end else []


def chunks_from_runs(
    doc: Document, sentences: Sequence[Sentence], runs: Sequence[tuple[int, int]], chunker: str
) -> list[Chunk]:
    """One chunk per inclusive ``(first, last)`` sentence run, spanning first.start..last.end."""
    return [
        Chunk.from_span(doc, index, sentences[first].start, sentences[last].end, chunker)
        for index, (first, last) in enumerate(runs)
    ]


class GapScoringChunker(Chunker):
    """Base for chunkers that place boundaries between sentences."""

    def __init__(self, *, target_tokens: int = 200, max_tokens: int = 400) -> None:
        if not 0 < target_tokens <= max_tokens:
            raise ValueError("need 0 < target_tokens <= max_tokens")
        self.target_tokens = target_tokens
        self.max_tokens = max_tokens

    @abstractmethod
    def score_gaps(self, sentences: Sequence[Sentence]) -> GapScores: ...

    def chunk(self, doc: Document) -> list[Chunk]:
        if not exceeds_tokens(doc.text, self.target_tokens):
            return whole_text_chunk(doc, self.name)  # short: one chunk, no model run
        sentences = split_document(doc, max_tokens=self.max_tokens)
        return chunks_from_runs(doc, sentences, self.sentence_runs(sentences), self.name)

    def sentence_runs(self, sentences: Sequence[Sentence]) -> list[tuple[int, int]]:
        """Inclusive sentence-index runs, one per chunk (also used by the benchmark)."""
        if len(sentences) < 2:
            return [(0, len(sentences) - 1)] if sentences else []
        scores = self._scores_in_sections(sentences)
        sizes = [count_tokens(s.text) for s in sentences]
        return merge_spans(
            sizes, scores.strengths, scores.boundaries, target=self.target_tokens, maximum=self.max_tokens
        )

    def _scores_in_sections(self, sentences: Sequence[Sentence]) -> GapScores:
        strengths: list[float] = []
        boundaries: list[bool] = []
        for first in range(0, len(sentences) - 1, SECTION_SENTENCES):
            section = self._scores_or_fallback(sentences[first : first + SECTION_SENTENCES + 1])
            strengths.extend(section.strengths)
            boundaries.extend(section.boundaries)
        return GapScores(strengths, boundaries)

    def _scores_or_fallback(self, sentences: Sequence[Sentence]) -> GapScores:
        try:
            return self.score_gaps(sentences)
        except Exception:  # a model failure must not fail the document: pack sentences instead
            log.exception("%s chunker failed to score a document; packing sentences", self.name)
            gaps = len(sentences) - 1
            return GapScores([0.0] * gaps, [True] * gaps)
