"""Community summaries: extractive by default, LLM-written when a ``summarize`` callable is given.

The extract names the community's most connected entities with their best descriptions, then its
strongest relations, which is what a reader (or a global-search prompt) needs to know what the
community is about without an LLM.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from graph.models import Entity, Relation

Summarize = Callable[[str, list[str]], str]

MAX_FACT_ENTITIES = 5  # the extract names this many of a community's best-connected entities
MAX_FACT_RELATIONS = 5  # and its strongest relations

logger = logging.getLogger(__name__)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def community_facts(
    members: Sequence[Entity],
    relations: Sequence[Relation],
    degree: dict[str, float],
    max_entities: int = MAX_FACT_ENTITIES,
    max_relations: int = MAX_FACT_RELATIONS,
) -> list[str]:
    """Lines about the top entities by degree and the strongest relations inside the community."""
    ranked = best_connected(members, degree, max_entities)
    names = {e.id: e.name for e in members}
    lines = [f"{e.name} ({e.type.lower()}): {_clip(e.description, 200)}" if e.description else e.name for e in ranked]
    inside = [r for r in relations if r.source_id in names and r.target_id in names]
    for relation in sorted(inside, key=lambda r: (-r.weight, r.id))[:max_relations]:
        verb = relation.type.lower().replace("_", " ")
        lines.append(f"{names[relation.source_id]} {verb} {names[relation.target_id]}")
    return lines


def community_title(members: Sequence[Entity], degree: dict[str, float], top: int = 3) -> str:
    return ", ".join(e.name for e in best_connected(members, degree, top))


def best_connected(members: Sequence[Entity], degree: dict[str, float], top: int) -> list[Entity]:
    """The ``top`` members by degree (ties by name): the first of them sorted, without sorting them all."""
    return heapq.nsmallest(top, members, key=lambda e: (-degree.get(e.id, 0.0), e.name))


@dataclass
class SummaryTally:
    """How the summaries of one rebuild went: LLM summaries written, and LLM calls that failed (those
    communities keep the extract, so a failed call never leaves one without a summary)."""

    written: int = 0
    failed: int = 0


def summarize_community(
    title: str, facts: list[str], summarize: Summarize | None = None, tally: SummaryTally | None = None
) -> str:
    """An LLM summary of the facts when configured (falling back to the extract on failure)."""
    extract = " ".join(fact if fact.endswith(".") else f"{fact}." for fact in facts)
    if summarize is None or not facts:
        return extract
    tally = tally if tally is not None else SummaryTally()
    try:
        summary = " ".join(summarize(title, facts).split())
    except Exception as exc:  # a failed LLM call must not lose the rebuild
        logger.warning("community summary failed for %r: %s", title, exc)
        tally.failed += 1
        return extract
    tally.written += 1
    return summary or extract
