"""Fixed-size chunker: windows of ``target_tokens`` tokens with ``overlap_tokens`` overlap.

The baseline every smarter chunker is measured against; it ignores sentences, so it also copes
with text that has no punctuation at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ingest.chunking.base import Chunker
from ingest.models import Chunk, Document
from ingest.sentences import CHARS_PER_TOKEN_FLOOR, TOKEN_PATTERN, exceeds_tokens


def token_spans(text: str, *, longest: int = 4 * CHARS_PER_TOKEN_FLOOR) -> Iterator[tuple[int, int]]:
    """Character spans of tokens, in order; a run longer than ``longest`` chars is cut into pieces."""
    for match in TOKEN_PATTERN.finditer(text):
        start, end = match.span()
        for piece in range(start, end, longest):
            yield piece, min(piece + longest, end)


class FixedChunker(Chunker):
    name = "fixed"

    def __init__(self, *, target_tokens: int = 200, overlap_tokens: int | None = None) -> None:
        overlap = target_tokens // 8 if overlap_tokens is None else overlap_tokens
        if not 0 <= overlap < target_tokens:
            raise ValueError("need 0 <= overlap_tokens < target_tokens")
        self.target_tokens = target_tokens
        self.overlap_tokens = overlap

    def windows(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` character spans of the windows.

        Tokens are streamed: only the current window's spans are held, so memory does not grow
        with the document (a list of every token span of a 20 MB text took hundreds of MB)."""
        max_chars = self.target_tokens * CHARS_PER_TOKEN_FLOOR  # keeps count_tokens <= target
        windows: list[tuple[int, int]] = []
        current: deque[tuple[int, int]] = deque()
        for span in token_spans(text):
            while current and (len(current) == self.target_tokens or span[1] - current[0][0] > max_chars):
                windows.append((current[0][0], current[-1][1]))
                keep = min(self.overlap_tokens, len(current) - 1)  # a window always moves on
                while len(current) > keep:
                    current.popleft()
            current.append(span)
        if current:
            windows.append((current[0][0], current[-1][1]))
        return windows

    def chunk(self, doc: Document) -> list[Chunk]:
        if not exceeds_tokens(doc.text, self.target_tokens) and doc.text.strip():
            start = len(doc.text) - len(doc.text.lstrip())
            return [Chunk.from_span(doc, 0, start, len(doc.text.rstrip()), self.name)]
        return [
            Chunk.from_span(doc, index, start, end, self.name)
            for index, (start, end) in enumerate(self.windows(doc.text))
        ]
