"""Fixed-size chunker: windows of ``target_tokens`` tokens with ``overlap_tokens`` overlap.

The baseline every smarter chunker is measured against; it ignores sentences, so it also copes
with text that has no punctuation at all.
"""

from __future__ import annotations

from ingest.chunking.base import Chunker
from ingest.models import Chunk, Document
from ingest.sentences import CHARS_PER_TOKEN_FLOOR, TOKEN_PATTERN, count_tokens


def token_spans(text: str, *, longest: int = 4 * CHARS_PER_TOKEN_FLOOR) -> list[tuple[int, int]]:
    """Character spans of tokens; a run longer than ``longest`` chars is cut into pieces."""
    spans: list[tuple[int, int]] = []
    for match in TOKEN_PATTERN.finditer(text):
        start, end = match.span()
        spans.extend((s, min(s + longest, end)) for s in range(start, end, longest))
    return spans


class FixedChunker(Chunker):
    name = "fixed"

    def __init__(self, *, target_tokens: int = 200, overlap_tokens: int | None = None) -> None:
        overlap = target_tokens // 8 if overlap_tokens is None else overlap_tokens
        if not 0 <= overlap < target_tokens:
            raise ValueError("need 0 <= overlap_tokens < target_tokens")
        self.target_tokens = target_tokens
        self.overlap_tokens = overlap

    def windows(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` character spans of the windows."""
        spans = token_spans(text)
        max_chars = self.target_tokens * CHARS_PER_TOKEN_FLOOR  # keeps count_tokens <= target
        windows: list[tuple[int, int]] = []
        first = 0
        while first < len(spans):
            last = first
            while (
                last + 1 < len(spans)
                and last + 1 - first < self.target_tokens
                and spans[last + 1][1] - spans[first][0] <= max_chars
            ):
                last += 1
            windows.append((spans[first][0], spans[last][1]))
            if last == len(spans) - 1:
                break
            first = max(first + 1, last + 1 - self.overlap_tokens)
        return windows

    def chunk(self, doc: Document) -> list[Chunk]:
        if count_tokens(doc.text) <= self.target_tokens and doc.text.strip():
            start = len(doc.text) - len(doc.text.lstrip())
            return [Chunk.from_span(doc, 0, start, len(doc.text.rstrip()), self.name)]
        return [
            Chunk.from_span(doc, index, start, end, self.name)
            for index, (start, end) in enumerate(self.windows(doc.text))
        ]
