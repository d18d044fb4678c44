"""Within-document coreference of names: "Kennedy" after "John Fitzgerald Kennedy" is him.

Inside one document a writer names a person or an organisation in full once and then by a
short form: a surname ("Kennedy"), first and last name without the middle name ("John
Kennedy"), initials ("John F. Kennedy"), a club's or company's short name ("the Yankees" after
"New York Yankees", "Apple" after "Apple Computer, Inc."). ``link_names`` rewrites such a
mention to the document's full name, so resolution sees one name, and keeps the short form in
``EntityMention.aliases``; ``with_aliases`` then adds a mention record per alias, so the stored
entity carries the short form as an alias and a lookup of "Kennedy" finds the person.

A short form is linked only when it cannot mean anything else in its document:
- the full name has the same kind (person with person, organisation with organisation), and the
  short form is not also written as another kind of thing there ("Jordan" the country beside
  "Michael Jordan");
- it fits exactly one full name: "Kennedy" after both "John F. Kennedy" and "Robert Kennedy"
  stays as written (full names nested in one another, "John Kennedy" in "John Fitzgerald
  Kennedy", count once);
- a one-word short form is never a common word ("Company", "United", "New");
- documents never see each other: the same surname in two documents is left to resolution.

Pure (no store, no model) and linear in the mentions of a document: full names are indexed by
their words, and a word shared by too many full names makes its short forms ambiguous anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graph.fusion.normalize import STOP_TOKENS, name_tokens, normalize_name
from graph.fusion.scoring import type_family
from graph.models import EntityMention, Extraction, MentionRecord, RelationMention

PERSON, ORGANIZATION = "PERSON", "ORGANIZATION"
# Nationalities and religious or political groups share the organisation family in scoring, but
# "American" is not a short name of "American Airlines".
_NOT_ORGANIZATIONS = frozenset({"NORP", "NATIONALITY", "RELIGION"})

# Titles written before a person's name; "President Kennedy" is "Kennedy".
_HONORIFICS = frozenset(
    "mr mrs ms miss mx doctor sir dame lord lady president senator governor general professor prof "
    "reverend rev judge justice coach captain colonel sergeant chancellor".split()
)
_GENERATIONAL = frozenset({"junior", "senior", "ii", "iii", "iv"})
# Legal forms that a company's short name drops ("Apple" for "Apple Computer, Inc.").
_DESIGNATORS = frozenset("inc incorporated ltd limited llc plc corporation company gmbh ag sa nv bv llp lp pty".split())
# One-word forms that name a kind of thing, not one thing: never a short name on their own.
COMMON_WORDS = (
    STOP_TOKENS
    | _HONORIFICS
    | _GENERATIONAL
    | _DESIGNATORS
    | frozenset(
        """
        i he she it we you they him her his hers its our their them this that these those who whom
        what which there here when then but or not no yes all any some one two three first second
        new old north south east west northern southern eastern western central upper lower great
        little big young general national international global world american british english
        united royal federal state states city county club team group company firm bank party
        records studio studios music band orchestra football soccer baseball basketball hockey
        sports athletic athletics association society institute council committee department
        ministry office house center centre museum hospital school college university academy
        church press news times post media network television radio film films pictures
        entertainment productions motors motor airlines airways air energy oil steel systems
        technologies technology software labs research holdings industries partners brothers
        foundation trust fund service services government army navy force police court union
        league cup mount river lake island
        """.split()
    )
)
# A word shared by more full names than this makes its short forms ambiguous: stop looking.
MAX_FULL_NAMES_PER_WORD = 32


@dataclass(frozen=True)
class _Name:
    """One distinct name of a document, as a kind of thing."""

    surface: str  # the first way the document writes it
    kind: str  # PERSON, ORGANIZATION, or "" (never linked)
    words: tuple[str, ...]  # normalised words, what the comparisons use


def _kind(entity_type: str) -> str:
    family = type_family(entity_type)
    if family == PERSON:
        return PERSON
    if family == ORGANIZATION and entity_type.upper() not in _NOT_ORGANIZATIONS:
        return ORGANIZATION
    return ""


def _person_core(words: tuple[str, ...]) -> tuple[str, ...]:
    """The name without leading titles and trailing generational suffixes."""
    start, end = 0, len(words)
    while end - start > 1 and words[start] in _HONORIFICS:
        start += 1
    while end - start > 1 and words[end - 1] in _GENERATIONAL:
        end -= 1
    return words[start:end]


def _suffix(words: tuple[str, ...]) -> str:
    """The generational suffix of a person's name ("junior" in "Martin Luther King Jr."), or ""."""
    return words[-1] if len(words) > 1 and words[-1] in _GENERATIONAL else ""


def _organization_core(words: tuple[str, ...]) -> tuple[str, ...]:
    """The name without its trailing legal form."""
    end = len(words)
    while end > 1 and words[end - 1] in _DESIGNATORS:
        end -= 1
    return words[:end]


def _word_matches(short: str, full: str) -> bool:
    """Equal words, or an initial for the word ("f" for "fitzgerald")."""
    return short == full or (len(short) == 1 and full.startswith(short))


def _is_subsequence(short: Sequence[str], full: Sequence[str]) -> bool:
    """Whether ``short`` is ``full`` with words left out (greedy earliest matching is exact)."""
    position = 0
    for word in short:
        while position < len(full) and not _word_matches(word, full[position]):
            position += 1
        if position == len(full):
            return False
        position += 1
    return True


def is_short_form(short: _Name, full: _Name) -> bool:
    """Whether ``short`` names the same thing as ``full`` in a shorter way (same kind assumed)."""
    if short.words == full.words:
        return False
    if short.kind == PERSON:
        s, f = _person_core(short.words), _person_core(full.words)
        if _suffix(short.words) not in ("", _suffix(full.words)):
            return False  # "Thomas Watson Jr." is not "Thomas J. Watson"
        if s == f:
            return len(short.words) < len(full.words)  # "Alex Ferguson" for "Sir Alex Ferguson"
        # The surname must be there, written out: "Kennedy", "John Kennedy", "J. F. Kennedy".
        return len(f) >= 2 and s[-1] == f[-1] and _is_subsequence(s, f)
    s, f = _organization_core(short.words), _organization_core(full.words)
    if len(short.words) >= len(full.words) or not s:
        return False
    # A run at either end of the full name: "Yankees", "New York" (if an organisation), "Apple".
    return f[: len(s)] == s or f[len(f) - len(s) :] == s


def _distinctive(name: _Name) -> bool:
    core = _person_core(name.words) if name.kind == PERSON else _organization_core(name.words)
    return any(word not in COMMON_WORDS for word in core) and not (len(core) == 1 and core[0] in COMMON_WORDS)


class _DocumentNames:
    """The names of one document, indexed by word, and the full name each short form stands for."""

    def __init__(self, mentions: Iterable[EntityMention]) -> None:
        self.names: dict[tuple[str, str], _Name] = {}
        self.families: dict[str, set[str]] = {}  # normalised name -> the specific type families it is written as
        for mention in mentions:
            key = normalize_name(mention.name)
            if not key:
                continue
            family = type_family(mention.type)
            self.families.setdefault(key, set()).update({family} if family else set())
            kind = _kind(mention.type)
            if kind:
                self.names.setdefault(
                    (key, kind), _Name(" ".join(mention.name.split()), kind, name_tokens(mention.name))
                )
        self.by_word: dict[tuple[str, str], list[_Name]] = {}
        for name in self.names.values():
            if len(name.words) >= 2:
                for word in set(name.words):
                    self.by_word.setdefault((name.kind, word), []).append(name)

    def full_name(self, name: _Name) -> _Name | None:
        """The one full name ``name`` is a short form of in this document, if there is exactly one."""
        if len(self.families.get(" ".join(name.words), ())) > 1 or not _distinctive(name):
            return None
        # A longer name of a person holds the surname; one of an organisation, the first or last word.
        anchors = {_person_core(name.words)[-1]} if name.kind == PERSON else {name.words[0], name.words[-1]}
        postings = [self.by_word.get((name.kind, word), []) for word in anchors]
        if any(len(posting) > MAX_FULL_NAMES_PER_WORD for posting in postings):
            return None
        candidates = {id(c): c for posting in postings for c in posting if is_short_form(name, c)}
        longest = [c for c in candidates.values() if not any(is_short_form(c, d) for d in candidates.values())]
        return longest[0] if len(longest) == 1 else None

    def rewrites(self) -> dict[tuple[str, str], str]:
        """(normalised name, kind) of each short form -> the surface of its full name."""
        found: dict[tuple[str, str], str] = {}
        for key, name in self.names.items():
            full = self.full_name(name)
            if full is not None:
                found[key] = full.surface
        return found


def _doc_id(extraction: Extraction) -> str:
    """The chunk's document (an extraction names it only through its mentions)."""
    if extraction.entities:
        return extraction.entities[0].doc_id
    return extraction.relations[0].doc_id if extraction.relations else ""


def link_names(extractions: Sequence[Extraction]) -> list[Extraction]:
    """The extractions with every within-document short form rewritten to its full name."""
    by_doc: dict[str, list[Extraction]] = {}
    for extraction in extractions:
        by_doc.setdefault(_doc_id(extraction), []).append(extraction)
    rewrites = {
        doc: _DocumentNames(m for e in members for m in e.entities).rewrites() for doc, members in by_doc.items()
    }
    return [_rewrite(e, rewrites[_doc_id(e)]) if rewrites[_doc_id(e)] else e for e in extractions]


def _rewrite(extraction: Extraction, rewrites: dict[tuple[str, str], str]) -> Extraction:
    kept: dict[str, EntityMention] = {}  # by new name, folded: a short form may meet its full name
    renamed: dict[str, str] = {}  # old name, folded -> new name (for relation endpoints)
    changed = False
    for mention in extraction.entities:
        name = " ".join(mention.name.split())
        full = rewrites.get((normalize_name(name), _kind(mention.type)))
        changed = changed or full is not None
        aliases = [*mention.aliases, name] if full else list(mention.aliases)
        new_name = full or name
        renamed[name.casefold()] = new_name
        seen = kept.get(new_name.casefold())
        if seen is None:
            kept[new_name.casefold()] = mention.model_copy(update={"name": new_name, "aliases": aliases})
            continue
        merged = [*seen.aliases, *(a for a in aliases if a.casefold() not in {s.casefold() for s in seen.aliases})]
        kept[new_name.casefold()] = seen.model_copy(
            update={"aliases": merged, "description": seen.description or mention.description}
        )
    if not changed:
        return extraction
    relations = [_renamed(r, renamed) for r in extraction.relations]
    return extraction.model_copy(update={"entities": list(kept.values()), "relations": relations})


def _renamed(relation: RelationMention, renamed: dict[str, str]) -> RelationMention:
    source = renamed.get(" ".join(relation.source.split()).casefold(), relation.source)
    target = renamed.get(" ".join(relation.target.split()).casefold(), relation.target)
    return relation.model_copy(update={"source": source, "target": target})


def with_aliases(records: Sequence[MentionRecord], extractions: Sequence[Extraction]) -> list[MentionRecord]:
    """The mention records plus one per alias, on the entity its mention resolved to.

    Aliases are read off mention names (see graph/store/base.py), so this is what makes the short
    form an alias of the stored entity on both stores.
    """
    entity_of = {(r.chunk_id, r.name.casefold()): r.entity_id for r in records}
    extra: list[MentionRecord] = []
    for extraction in extractions:
        for mention in extraction.entities:
            entity_id = entity_of.get((mention.chunk_id, " ".join(mention.name.split()).casefold()))
            if entity_id is None:
                continue
            for alias in mention.aliases:
                if (mention.chunk_id, alias.casefold()) not in entity_of:
                    entity_of[(mention.chunk_id, alias.casefold())] = entity_id
                    extra.append(
                        MentionRecord(
                            chunk_id=mention.chunk_id, entity_id=entity_id, name=alias, description=mention.description
                        )
                    )
    return [*records, *extra] if extra else list(records)
