"""Sentence-window chunker: consecutive sentences packed up to the target. Cheap fallback."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.chunking.merge import pack_in_order
from ingest.chunking.scored import GapScores, GapScoringChunker
from ingest.sentences import Sentence, count_tokens


class SentenceWindowChunker(GapScoringChunker):
    name = "sentence"

    def sentence_runs(self, sentences: Sequence[Sentence]) -> list[tuple[int, int]]:
        return pack_in_order([count_tokens(s.text) for s in sentences], target=self.target_tokens)

    def score_gaps(self, sentences: Sequence[Sentence]) -> GapScores:
        gaps = max(len(sentences) - 1, 0)
        return GapScores([0.0] * gaps, [True] * gaps)
