"""Name normalisation: the keys that make surface variants of one name compare equal.

``normalize_name`` folds case, accents, punctuation, leading articles and common abbreviations,
so "The Beatles", "beatles" and "Beatles!" share one key. ``acronym`` gives the initials of a
multi-word name ("Federal Bureau of Investigation" -> "fbi") and ``acronym_key`` recognises a name
that *is* an acronym ("F.B.I." -> "fbi"); blocking pairs the two.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ARTICLES = frozenset({"the", "a", "an"})
# Words skipped when forming initials ("University of Oxford" -> "uo", as people write it).
ACRONYM_SKIP = frozenset({"of", "and", "the", "for", "in", "on", "at", "to", "a", "an", "de", "la", "le", "du"})
# Tokens so common in names that sharing them says nothing about identity.
STOP_TOKENS = ACRONYM_SKIP | {"s", "inc", "ltd", "co", "corp", "llc", "plc"}

# Abbreviations written in names, expanded so "Univ. of Oxford" meets "University of Oxford".
ABBREVIATIONS = {
    "univ": "university",
    "intl": "international",
    "int'l": "international",
    "natl": "national",
    "nat'l": "national",
    "dept": "department",
    "assn": "association",
    "assoc": "association",
    "inst": "institute",
    "corp": "corporation",
    "co": "company",
    "bros": "brothers",
    "mt": "mount",
    "ft": "fort",
    "st": "saint",
    "ste": "sainte",
    "jr": "junior",
    "sr": "senior",
    "dr": "doctor",
    "gen": "general",
    "gov": "government",
    "govt": "government",
    "mfg": "manufacturing",
    "&": "and",
}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.){2,}[A-Za-z]?\.?$")


def fold_unicode(text: str) -> str:
    """Strip accents and compatibility forms: "Café Münchën" -> "Cafe Munchen"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=200_000)
def raw_tokens(name: str) -> tuple[str, ...]:
    """Lower-cased word tokens with accents folded and punctuation removed (no expansion)."""
    text = fold_unicode(name).translate(_APOSTROPHES).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"'s\b", "", text)  # possessive: "McDonald's" -> "mcdonald"
    text = re.sub(r"(?<=\w)[.'](?=\w)", "", text)  # "u.s.a" -> "usa", "o'neil" -> "oneil"
    return tuple(re.findall(r"[a-z0-9]+", text))


@lru_cache(maxsize=200_000)
def name_tokens(name: str) -> tuple[str, ...]:
    """Tokens of the normalised name: abbreviations expanded, leading article dropped."""
    tokens = [ABBREVIATIONS.get(tok, tok) for tok in raw_tokens(name)]
    while len(tokens) > 1 and tokens[0] in ARTICLES:
        tokens = tokens[1:]
    return tuple(tokens)


def normalize_name(name: str) -> str:
    """The comparison key of a name: "The Univ. of Oxford" -> "university of oxford"."""
    return " ".join(name_tokens(name))


def compact_key(name: str) -> str:
    """The key without spaces, so "Spider-Man" and "Spiderman" meet."""
    return normalize_name(name).replace(" ", "")


def content_tokens(name: str) -> set[str]:
    """Tokens that can identify a thing (stop words dropped)."""
    return {tok for tok in name_tokens(name) if tok not in STOP_TOKENS}


@lru_cache(maxsize=200_000)
def acronym(name: str) -> str:
    """Initials of a multi-word name ("National Aeronautics and Space Administration" -> "nasa")."""
    words = [tok for tok in raw_tokens(name) if tok not in ACRONYM_SKIP and not tok.isdigit()]
    return "".join(word[0] for word in words) if len(words) >= 2 else ""


def acronym_key(name: str) -> str:
    """The letters of a name written as an acronym ("NASA", "F.B.I.", "U.S."), else ""."""
    stripped = fold_unicode(name).strip()
    if stripped.lower().startswith("the "):
        stripped = stripped[4:].strip()
    if _DOTTED_ACRONYM.match(stripped):
        return stripped.replace(".", "").lower()
    letters = stripped.replace(" ", "")
    if 2 <= len(letters) <= 8 and letters.isalpha() and sum(ch.isupper() for ch in letters) >= len(letters) - 1:
        return letters.lower()
    return ""


def numbers_in(name: str) -> frozenset[str]:
    """Digit runs ("9th Earl" -> {"9"}, "1998 FIFA World Cup" -> {"1998"}): names that differ in
    them are different things, however close the strings are."""
    return frozenset(re.findall(r"\d+", fold_unicode(name)))
