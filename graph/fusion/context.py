"""Context signals that tell same-named things apart beyond embedding cosine.

A *definition* is a description that opens with the entity's own name ("The Picture of Dorian
Gray (1913) is an American silent film ..."): it says what the thing is, not what happened to it
in one chunk. Two definitions of one thing agree; two definitions that pin different years
("... is a 1913 film" / "... is a 1915 film") or read unlike each other are two things. A
description that is not a definition (a chunk's side remark: "It is part of the James Bay
drainage basin") says little about identity and is never used to split a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.fusion.normalize import ABBREVIATIONS, ARTICLES, name_tokens, raw_tokens

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_HEAD_CHARS = 200  # the years that identify a thing sit in the opening words of its definition


@dataclass(frozen=True)
class Definition:
    """What a mention's description says about identity; empty when it is not a definition."""

    is_definition: bool = False
    years: frozenset[str] = frozenset()


NO_DEFINITION = Definition()


def _opening_tokens(text: str) -> tuple[str, ...]:
    """``name_tokens`` without its caches: descriptions are one-off strings that would crowd names out."""
    tokens = [ABBREVIATIONS.get(token, token) for token in raw_tokens.__wrapped__(text)]
    while len(tokens) > 1 and tokens[0] in ARTICLES:
        tokens = tokens[1:]
    return tuple(tokens)


def is_definition(name: str, description: str) -> bool:
    """Whether the description opens with the name (articles, case, punctuation and quotes ignored)."""
    key = name_tokens(name)
    if not key or not description:
        return False
    opening = _opening_tokens(description[: len(name) + 40])
    return opening[: len(key)] == key


def definition_of(name: str, description: str) -> Definition:
    """The description's identity signals: whether it is a definition, and the years it pins."""
    if not is_definition(name, description):
        return NO_DEFINITION
    return Definition(True, frozenset(_YEAR.findall(description[:_HEAD_CHARS])))


def years_conflict(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Both definitions pin years and share none: a 1913 film is not the 1915 film of that name."""
    return bool(mine) and bool(theirs) and not mine & theirs
