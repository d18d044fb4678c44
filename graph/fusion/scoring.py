"""Pair scoring: how likely two entity nodes are one thing.

A score is a weighted mix of name similarity (rapidfuzz), embedding cosine of name+description,
and overlap of co-mentioned entities. Incompatible types or different numbers in the names veto
the pair outright (score 0): "Mercury" the PLANET is never the CHEMICAL_ELEMENT, and the
"1998 FIFA World Cup" is never the "2002 FIFA World Cup", however close the strings are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from rapidfuzz import fuzz

from graph.fusion.normalize import (
    acronym,
    acronym_key,
    compact_key,
    content_tokens,
    normalize_name,
    numbers_in,
)

# Types that say nothing, compatible with every other type.
GENERIC_TYPES = frozenset({"", "CONCEPT", "ENTITY", "THING", "OTHER", "MISC", "UNKNOWN", "NOUN", "TERM"})

# Coarse families: an LLM may call the same thing FILM once and WORK_OF_ART the next time.
_FAMILY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "PERSON",
        (
            "PERSON",
            "PEOPLE",
            "HUMAN",
            "PER",
            "ACTOR",
            "ARTIST",
            "AUTHOR",
            "WRITER",
            "POLITICIAN",
            "PLAYER",
            "ATHLETE",
            "MUSICIAN",
            "SINGER",
            "DIRECTOR",
            "SCIENTIST",
            "CHARACTER",
        ),
    ),
    (
        "ORGANIZATION",
        (
            "ORG",
            "ORGANIZATION",
            "ORGANISATION",
            "COMPANY",
            "BAND",
            "CLUB",
            "TEAM",
            "UNIVERSITY",
            "INSTITUTION",
            "AGENCY",
            "PARTY",
            "GROUP",
            "SCHOOL",
            "NORP",
            "LABEL",
        ),
    ),
    (
        "LOCATION",
        (
            "GPE",
            "LOC",
            "LOCATION",
            "PLACE",
            "CITY",
            "COUNTRY",
            "STATE",
            "REGION",
            "FAC",
            "FACILITY",
            "BUILDING",
            "RIVER",
            "MOUNTAIN",
            "TOWN",
            "VILLAGE",
            "ISLAND",
            "LAKE",
        ),
    ),
    ("CELESTIAL", ("PLANET", "STAR", "MOON", "GALAXY", "ASTEROID", "COMET", "CELESTIAL")),
    ("SUBSTANCE", ("ELEMENT", "CHEMICAL", "SUBSTANCE", "MATERIAL", "COMPOUND", "MINERAL", "DRUG")),
    (
        "WORK",
        (
            "WORK",
            "ART",
            "FILM",
            "MOVIE",
            "BOOK",
            "NOVEL",
            "SONG",
            "ALBUM",
            "SINGLE",
            "SHOW",
            "SERIES",
            "EPISODE",
            "PLAY",
            "OPERA",
            "GAME",
            "SOUNDTRACK",
            "POEM",
            "PAINTING",
        ),
    ),
    ("EVENT", ("EVENT", "WAR", "BATTLE", "ELECTION", "TOURNAMENT", "FESTIVAL", "CUP", "CHAMPIONSHIP")),
    ("TIME", ("DATE", "TIME", "YEAR", "PERIOD", "ERA")),
    ("QUANTITY", ("QUANTITY", "MONEY", "PERCENT", "CARDINAL", "ORDINAL", "NUMBER")),
    ("PRODUCT", ("PRODUCT", "DEVICE", "VEHICLE", "SOFTWARE", "WEAPON")),
)


def type_family(entity_type: str) -> str:
    """The coarse family of a type; generic types map to ""; unknown specific types to themselves."""
    upper = entity_type.upper()
    if upper in GENERIC_TYPES:
        return ""
    parts = set(upper.split("_"))
    for family, words in _FAMILY_WORDS:
        if upper in words or parts.intersection(words):
            return family
    return upper


def types_compatible(family_a: str, family_b: str) -> bool:
    return not family_a or not family_b or family_a == family_b


@dataclass
class NodeView:
    """What scoring needs to know about one side of a pair; the names are surface forms."""

    names: list[str]
    entity_type: str = ""
    neighbours: frozenset[str] = frozenset()  # normalised keys of co-mentioned entities
    embedding: np.ndarray | None = None  # L2-normalised name+description vector
    has_context: bool = False  # it has a description to compare
    extra: dict[str, object] = field(default_factory=dict)

    @cached_property
    def key(self) -> str:
        return normalize_name(self.names[0]) if self.names else ""

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(normalize_name(name) for name in self.names)

    @cached_property
    def compact_keys(self) -> frozenset[str]:
        return frozenset(compact_key(name) for name in self.names)

    @cached_property
    def family(self) -> str:
        return type_family(self.entity_type)

    @cached_property
    def numbers(self) -> frozenset[str]:
        return numbers_in(self.names[0]) if self.names else frozenset()

    @cached_property
    def acronyms(self) -> frozenset[str]:
        return frozenset(filter(None, (acronym(name) for name in self.names)))

    @cached_property
    def acronym_keys(self) -> frozenset[str]:
        return frozenset(filter(None, (acronym_key(name) for name in self.names)))

    @cached_property
    def tokens(self) -> frozenset[str]:
        return frozenset().union(*(content_tokens(name) for name in self.names)) if self.names else frozenset()


@dataclass(frozen=True)
class ScoreWeights:
    # Description cosine moves the name score by embedding * (cosine - context_pivot), clipped:
    # disagreeing context can sink a good name match, agreeing context only nudges a weak one.
    embedding: float = 0.5
    context_pivot: float = 0.45
    max_penalty: float = 0.2
    max_bonus: float = 0.05
    neighbours: float = 0.15  # bonus for shared co-mentioned entities (times their Jaccard overlap)
    acronym_name_score: float = 0.9  # name score of an acronym and its expansion
    # Below this description cosine, two same-named nodes with no shared neighbours are different things.
    split_below: float = 0.3
    # Below this cosine, a definition does not define what the group's definitions define (context.py).
    split_definitions_below: float = 0.6
    # Under one name, mentions typed differently are one thing only when their contexts agree this well
    # (or agree moderately and share a co-mentioned entity): see cluster.py.
    cross_type_above: float = 0.6


# Names compared per node pair: a merged node can carry dozens of alias keys, and all pairs would cost
# quadratic time for variants that the first few already cover.
NAMES_COMPARED = 4


def name_similarity(a: NodeView, b: NodeView, weights: ScoreWeights = ScoreWeights()) -> float:
    """1.0 for equal keys, high for acronym/expansion and misspellings, rapidfuzz ratio otherwise."""
    if a.keys & b.keys or a.compact_keys & b.compact_keys:
        return 1.0
    if (a.acronym_keys & b.acronyms) or (b.acronym_keys & a.acronyms):
        return weights.acronym_name_score
    best = 0.0
    for name_a in list(a.keys)[:NAMES_COMPARED]:
        for name_b in list(b.keys)[:NAMES_COMPARED]:
            score = max(fuzz.token_sort_ratio(name_a, name_b), fuzz.ratio(name_a, name_b)) / 100.0
            if not tokens_align(name_a, name_b):
                score = min(score, UNALIGNED_CAP)
            best = max(best, score)
    return best


UNALIGNED_CAP = 0.7  # "Adolf I, Prince of X" vs "Georg, Prince of X": close strings, different people
# A one-letter slip in a four-letter word still scores 75 ("jonh" vs "john"); a different word scores less.
SAME_WORD_RATIO = 75


def tokens_align(key_a: str, key_b: str) -> bool:
    """Every word of each name has a near-identical word in the other (a misspelling, not a new word)."""
    words_a, words_b = set(key_a.split()), set(key_b.split())
    for mine, theirs in ((words_a - words_b, words_b), (words_b - words_a, words_a)):
        for word in mine:
            if not any(fuzz.ratio(word, other) >= SAME_WORD_RATIO for other in theirs):
                return False
    return True


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    if a is None or b is None:
        return None
    return float(np.dot(a, b))


def neighbour_overlap(a: NodeView, b: NodeView) -> float | None:
    if not a.neighbours or not b.neighbours:
        return None
    return len(a.neighbours & b.neighbours) / len(a.neighbours | b.neighbours)


def vetoed(a: NodeView, b: NodeView) -> bool:
    """Hard constraints: incompatible types, or different numbers in the names."""
    return not types_compatible(a.family, b.family) or a.numbers != b.numbers


def context_disjoint(a: NodeView, b: NodeView, weights: ScoreWeights = ScoreWeights()) -> bool:
    """Both sides have a description, the descriptions disagree and no co-mentioned entity is shared."""
    if not (a.has_context and b.has_context):
        return False
    similarity = cosine(a.embedding, b.embedding)
    overlap = neighbour_overlap(a, b)
    return similarity is not None and similarity < weights.split_below and not overlap


def pair_score(a: NodeView, b: NodeView, weights: ScoreWeights = ScoreWeights()) -> float:
    """Score in [0, 1]; 0 when a hard constraint forbids the merge."""
    if vetoed(a, b) or context_disjoint(a, b, weights):
        return 0.0
    score = name_similarity(a, b, weights)
    similarity = cosine(a.embedding, b.embedding) if (a.has_context and b.has_context) else None
    if similarity is not None:
        shift = weights.embedding * (similarity - weights.context_pivot)
        score += min(max(shift, -weights.max_penalty), weights.max_bonus)
    overlap = neighbour_overlap(a, b)
    if overlap:
        score += weights.neighbours * overlap
    return max(0.0, min(score, 1.0))
