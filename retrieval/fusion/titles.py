"""Whether a candidate chunk's document is *about* something that the question or the first evidence names.

A multi-hop question names its first hop's subject ("which label released *Nobody's Hero*?") and the first
hop's passage names the next hop's subject ("... produced by *Jeff Porcaro*"). Where documents have titles (an
encyclopedia page, a product page, a JSONL passage with a ``title``), the chunks of the document titled with
that name are the ones the question is after; a passing mention of the name in another document is not. Two
features say so, for the learned fusion:

- ``title_in_question``: the question names the chunk's document title;
- ``title_in_dense_top``: how many of the dense top chunks of *other* documents name it.

Titles are compared as whole words (letters and digits), case-folded, without a trailing parenthetical
qualifier ("Mercury (planet)" is named by "Mercury"). A title shorter than three characters, or made of
stopwords only, names nothing: it would match everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from graph.store.base import ChunkTitle
from ingest.stopwords import STOPWORDS

TITLE_FEATURES = ("title_in_question", "title_in_dense_top")
_WORD = re.compile(r"[^\W_]+")  # an underscore separates words: a file stem "ingrid_solberg" is a title
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")


def padded_words(text: str) -> str:
    """The text's words, case-folded, joined by single spaces and padded by one space at each end, so that a
    phrase prepared the same way is found only as whole words."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


@lru_cache(maxsize=1 << 16)  # a pure function of the title; a workspace's titles recur across questions
def title_phrase(title: str) -> str:
    """The title as a padded phrase to look for, or "" where it names nothing."""
    words = _WORD.findall(_QUALIFIER.sub("", title).casefold())
    phrase = " ".join(words)
    if len(phrase) < 3 or all(word in STOPWORDS for word in words):
        return ""
    return f" {phrase} "


def title_features(
    question: str,
    chunk_ids: Sequence[str],
    titles: Mapping[str, ChunkTitle],
    dense_top: Sequence[str],
    texts: Mapping[str, str],
) -> np.ndarray:
    """The ``TITLE_FEATURES`` columns for ``chunk_ids``; ``dense_top`` are the dense signal's first chunks and
    ``texts`` their text (a top chunk without one is skipped)."""
    asked = padded_words(question)
    top = [(titles[c].doc_id if c in titles else c, padded_words(texts[c])) for c in dense_top if c in texts]
    top_words = {word for _, text in top for word in text.split()}
    columns = np.zeros((len(chunk_ids), len(TITLE_FEATURES)))
    of_document: dict[str, tuple[float, float]] = {}  # a document's chunks share its title and its values
    for row, chunk_id in enumerate(chunk_ids):
        heading = titles.get(chunk_id)
        if heading is None:
            continue
        values = of_document.get(heading.doc_id)
        if values is None:
            phrase = title_phrase(heading.title)
            named = _named_by(phrase, heading.doc_id, top, top_words)
            values = of_document[heading.doc_id] = (float(bool(phrase) and phrase in asked), named)
        columns[row] = values
    return columns


def _named_by(phrase: str, doc_id: str, top: Sequence[tuple[str, str]], top_words: set[str]) -> float:
    """How many top chunks of documents other than ``doc_id`` name ``phrase``."""
    if not phrase or not top_words.issuperset(phrase.split()):  # most titles: a word no top chunk has, no search
        return 0.0
    return float(sum(phrase in text for other, text in top if other != doc_id))
