"""Training hops for TreeHop: from labelled questions, and generated from the corpus itself.

A *chain* is a question plus ordered steps ``(context passage -> target passage)``: after the question
retrieved the context, the updated query should retrieve the target.

- Labelled questions give chains by their ``hop_order`` (see the data set's README): annotated/heuristic
  order is a chain; ``parallel`` comparison questions give both directions; 2Wiki ``parallel_chains``
  ``[e1, e2, linked1, linked2]`` give ``e1 -> linked1`` and ``e2 -> linked2``.
- Generated hops: passage A mentions the title of passage B. The synthetic question joins A's sentence
  naming B with one of B's other sentences, the title masked in both, so (like a real bridge question)
  the bridge entity must come from the retrieved passage, not from the question.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.evaluation.treehop_data import Passage, Question

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w+(?:['’.-]\w+)*")
MAX_TITLE_WORDS = 6


@dataclass(frozen=True)
class Chain:
    question: str  # question text (embedded by the trainer)
    steps: tuple[tuple[str, str], ...]  # (context passage id, target passage id), in hop order
    gold: tuple[str, ...] = ()  # passages that are never negatives for this chain


def chains_from_question(question: Question) -> list[Chain]:
    ids, order = question.supporting_ids, question.hop_order
    gold = tuple(ids)

    def chain(steps: Iterable[tuple[str, str]]) -> Chain:
        return Chain(question.question, tuple(steps), gold)

    if len(ids) < 2:
        return []
    if order == "parallel_chains" and len(ids) == 4:
        return [chain([(ids[0], ids[2])]), chain([(ids[1], ids[3])])]
    if order in ("parallel", "parallel_chains"):
        return [chain([(a, b)]) for a in ids for b in ids if a != b]
    return [chain(zip(ids[:-1], ids[1:], strict=True))]


def question_chains(questions: Sequence[Question]) -> list[Chain]:
    if any(q.split == "dev" for q in questions):
        raise ValueError("refusing to build TreeHop training chains from dev questions")
    return [c for q in questions for c in chains_from_question(q)]


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def _mask(sentence: str, title: str) -> str:
    return re.sub(re.escape(title), "it", sentence, flags=re.IGNORECASE)


def _linkable_titles(passages: Sequence[Passage], max_mentions: int) -> dict[str, str]:
    """Lower-cased title -> passage id, for titles that name exactly one passage and are specific."""
    by_title: dict[str, list[str]] = defaultdict(list)
    for p in passages:
        by_title[p.title.strip().lower()].append(p.id)
    titles = {
        t: ids[0]
        for t, ids in by_title.items()
        if len(ids) == 1 and len(t) >= 5 and 1 <= len(t.split()) <= MAX_TITLE_WORDS
    }
    # Titles that appear in very many passages ("United States") make unspecific hops.
    counts: Counter[str] = Counter()
    for p in passages:
        counts.update(set(_mentioned(p.text, titles)))
    return {t: i for t, i in titles.items() if counts[t] <= max_mentions}


def _mentioned(text: str, titles: dict[str, str]) -> Iterable[str]:
    """Titles occurring in ``text`` as whole-word n-grams (a set lookup per n-gram: linear in the text)."""
    words = [w.lower() for w in _WORD.findall(text)]
    for n in range(1, MAX_TITLE_WORDS + 1):
        for start in range(len(words) - n + 1):
            gram = " ".join(words[start : start + n])
            if gram in titles:
                yield gram


def generated_chains(
    passages: Sequence[Passage],
    *,
    exclude: set[str] = frozenset(),  # type: ignore[assignment]
    limit: int = 4000,
    max_mentions: int = 30,
    seed: int = 0,
    per_link: int = 1,
) -> list[Chain]:
    """Chains A -> B where A mentions B's title; passages in ``exclude`` (e.g. dev gold) are never used.

    ``per_link`` > 1 writes up to that many questions per link, each with another sentence of B."""
    titles = _linkable_titles(passages, max_mentions)
    by_id = {p.id: p for p in passages}
    chains: list[Chain] = []
    for a in passages:
        if a.id in exclude:
            continue
        for title in dict.fromkeys(_mentioned(a.text, titles)):
            b = by_id[titles[title]]
            if b.id == a.id or b.id in exclude or b.title.lower() == a.title.lower() or _is_index_page(b):
                continue
            chains.extend(_synthetic_chains(a, b, title, per_link))
    random.Random(seed).shuffle(chains)
    return chains[:limit]


def _synthetic_chains(a: Passage, b: Passage, title: str, per_link: int = 1) -> list[Chain]:
    naming = next((s for s in _sentences(a.text) if title in s.lower()), None)
    others = [s for s in _sentences(b.text)[1:] if title not in s.lower()] or _sentences(b.text)[:1]
    if naming is None:
        return []
    return [
        Chain(f"{_mask(naming, title)} {_mask(other, title)}", ((a.id, b.id),), (a.id, b.id))
        for other in others[:per_link]
    ]


def _is_index_page(passage: Passage) -> bool:
    # Disambiguation pages list namesakes; a hop to one teaches nothing about the bridge.
    return "may refer to" in passage.text[:200]
