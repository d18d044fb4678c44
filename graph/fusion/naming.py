"""Display names and ids for resolved entities, with homonyms told apart.

Two entities that share a name get a qualifier: their type when the types differ ("Mercury
(planet)", "Mercury (chemical element)"), else the head of their description ("Tony Kaye
(English keyboardist)"). Ids are content hashes of the normalised name, the type family and the
qualifier, so the same input always yields the same ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graph.fusion.normalize import normalize_name
from graph.fusion.scoring import type_family
from graph.models import stable_id

_DEFINITION = re.compile(r"\b(?:is|was|are|were)\s+(?:a|an|the|one of the)\s+([^,.;:()]+)", re.IGNORECASE)
_LEADING_NOISE = re.compile(r"^(?:former|famous|well-known|retired)\s+", re.IGNORECASE)


def type_label(entity_type: str) -> str:
    """ "CHEMICAL_ELEMENT" -> "chemical element"."""
    return entity_type.replace("_", " ").lower().strip()


def description_head(description: str, max_words: int = 2) -> str:
    """The head of a definition: "Tony Kaye is an English keyboardist for Yes" -> "English keyboardist"."""
    match = _DEFINITION.search(description)
    phrase = match.group(1) if match else ""
    phrase = _LEADING_NOISE.sub("", phrase.strip())
    words = re.findall(r"[\w'-]+", phrase)
    # Stop at the first preposition or verb-ish joiner: "film directed by" -> "film".
    cut = [w for w in words[: max_words + 2]]
    for index, word in enumerate(cut):
        if word.lower() in {
            "of",
            "from",
            "who",
            "that",
            "which",
            "by",
            "in",
            "for",
            "and",
            "with",
            "directed",
        }:
            cut = cut[:index]
            break
    return " ".join(cut[-max_words:]) if cut else ""


def qualifiers(types: Sequence[str], descriptions: Sequence[str]) -> list[str]:
    """One qualifier per homonym; type labels when they tell the homonyms apart, else description heads."""
    labels = [type_label(t) for t in types]
    if len(set(labels)) == len(labels) and all(labels):
        return labels
    heads = [description_head(d) for d in descriptions]
    chosen: list[str] = []
    for index, head in enumerate(heads):
        label = head or labels[index] or "entity"
        if label.lower() in (c.lower() for c in chosen):
            label = f"{label} {index + 1}"
        chosen.append(label)
    return chosen


def entity_id(name: str, entity_type: str, qualifier: str = "") -> str:
    family = type_family(entity_type) or "GENERIC"
    parts = (normalize_name(name), family, qualifier.lower()) if qualifier else (normalize_name(name), family)
    return stable_id("ent", *parts)
