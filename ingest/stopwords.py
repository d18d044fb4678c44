"""The one list of English function words that every stage skips when it compares texts by their words
(entity linking of a question, description merging, choosing answer sentences). BM25 uses its library's
own list, which its index was built with."""

from __future__ import annotations

STOPWORDS = frozenset(
    (
        "a an the of in on at to for from by with and or is was were are be been which who whom whose what "
        "when where why how did does do that this these those it its as than then there their his her he she "
        "they them also same both either more most many much one has have had not"
    ).split()
)
