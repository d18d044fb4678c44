"""Sentence splitting with character offsets, and the token estimate every chunker sizes by.

The splitter is rule based (no model to load, ~1 MB/s): a sentence ends at ``.!?…`` (plus closing
quotes/brackets) followed by whitespace and an upper-case letter, digit or opening quote, at a CJK
terminator, or at a blank line. Abbreviations and initials do not end a sentence. A sentence longer
than ``max_tokens`` (a giant sentence, text without punctuation) is cut at token boundaries so no
unit handed to a chunker is ever larger than the chunker's hard maximum.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ingest.models import Document

# CJK ideographs/kana/hangul count one token each: such text has no spaces between words.
TOKEN_PATTERN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+|[^\w\s]")
# A giant run without separators (base64, URLs) still counts at least one token per 6 characters.
CHARS_PER_TOKEN_FLOOR = 6

# Matches start only at the first terminator of a run and never give characters back: a line of
# a million dots (or "!!!") was quadratic with a plain ``[.!?…]+`` tried at every position.
_LATIN_END = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s++[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
_CJK_END = re.compile(r"(?<![。！？])[。！？]++[」』”’）]*+")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")

_ABBREVIATION_WORDS = """mr mrs ms dr prof sr jr st vs etc e.g i.e inc ltd co corp no nos vol fig figs
    approx ca cf gen col lt capt sgt rev hon gov sen rep mt ft jan feb mar apr jun jul aug sep sept
    oct nov dec u.s u.k u.n a.m p.m ph.d b.a m.a dept est univ"""
ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())


@dataclass(frozen=True)
class Sentence:
    """Characters ``[start, end)`` of the source text (no surrounding whitespace)."""

    start: int
    end: int
    text: str
    page: int | None = None


def count_tokens(text: str) -> int:
    """Model-free token estimate (words, punctuation, CJK characters), close to subword counts."""
    if not text:
        return 0
    return max(len(TOKEN_PATTERN.findall(text)), math.ceil(len(text.strip()) / CHARS_PER_TOKEN_FLOOR))


def exceeds_tokens(text: str, limit: int) -> bool:
    """``count_tokens(text) > limit``, in constant time for a text too long to fit anyway (every
    ``CHARS_PER_TOKEN_FLOOR`` characters count at least one token): a 20 MB document is not
    tokenised just to learn that it is longer than one chunk."""
    if math.ceil(len(text.strip()) / CHARS_PER_TOKEN_FLOOR) > limit:
        return True
    return count_tokens(text) > limit


def _ends_in_abbreviation(text: str, period_at: int) -> bool:
    """True when the '.' at ``period_at`` closes an abbreviation or an initial ("J.")."""
    if text[period_at] != ".":
        return False
    word_start = period_at
    while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:period_at].lower()
    return len(word) == 1 and word.isalpha() or word in ABBREVIATIONS


def _sentence_ends(text: str) -> list[int]:
    """Sorted character positions just after each sentence terminator."""
    ends = {m.end() for m in _LATIN_END.finditer(text) if not _ends_in_abbreviation(text, m.start())}
    ends.update(m.end() for m in _CJK_END.finditer(text))
    ends.update(m.start() for m in _BLANK_LINE.finditer(text))
    return sorted(ends)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cut_to_max(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` into pieces of at most ``max_tokens`` tokens, at token boundaries."""
    pieces: list[tuple[int, int]] = []
    piece_start, tokens = start, 0
    max_chars = max_tokens * CHARS_PER_TOKEN_FLOOR
    for match in TOKEN_PATTERN.finditer(text, start, end):
        token_start, token_end = match.start(), match.end()
        # A single token longer than the char budget is itself cut into char windows.
        while token_end - token_start > max_chars:
            if tokens:
                pieces.append((piece_start, token_start))
            pieces.append((token_start, token_start + max_chars))
            token_start += max_chars
            piece_start, tokens = token_start, 0
        if tokens + 1 > max_tokens or token_end - piece_start > max_chars:
            pieces.append((piece_start, token_start))
            piece_start, tokens = token_start, 0
        tokens += 1
    if piece_start < end:
        pieces.append((piece_start, end))
    return [span for span in (_trimmed(text, s, e) for s, e in pieces) if span[0] < span[1]]


def split_sentences(text: str, *, max_tokens: int | None = None) -> list[Sentence]:
    """Split ``text`` into sentences with offsets; none longer than ``max_tokens`` when given."""
    sentences: list[Sentence] = []
    previous = 0
    for boundary in [*_sentence_ends(text), len(text)]:
        start, end = _trimmed(text, previous, boundary)
        previous = max(previous, boundary)
        if start >= end:
            continue
        spans = [(start, end)]
        if max_tokens is not None and exceeds_tokens(text[start:end], max_tokens):
            spans = _cut_to_max(text, start, end, max_tokens)
        sentences.extend(Sentence(s, e, text[s:e]) for s, e in spans)
    return sentences


def split_document(doc: Document, *, max_tokens: int | None = None) -> list[Sentence]:
    """Sentences of a document, each with the page it starts on (None when the source has no pages)."""
    sentences = split_sentences(doc.text, max_tokens=max_tokens)
    if not doc.pages:
        return sentences
    return [Sentence(s.start, s.end, s.text, next(iter(doc.pages_between(s.start, s.end)), None)) for s in sentences]
