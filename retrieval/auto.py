"""``auto`` mode's choice between local search (hybrid) and global search, per question.

Two clues: the question's form (it names the collection — "these documents", "the main themes" — or asks
for every thing of a kind that the documents describe), and how spread its first dense hits are over the
graph's level-0 communities (hits scattered over many communities mean no one place answers it). A
question that names the collection goes global; one that asks for a list of things goes global only when
its hits are spread too; everything else stays local, where hybrid search is at its best.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from graph.store.base import GraphStore
from retrieval.communities import CommunityIndex

COLLECTION = re.compile(
    r"\b(these|this|the|all(?: the)?|whole|entire)\s+(documents?|docs|papers|reports|articles|passages|texts|"
    r"collection|corpus|files|sources|dataset)\b"
    r"|\b(main|common|recurring|overall|key|major|central)\s+(themes?|topics?|approaches|ideas|trends|findings)\b"
    r"|\bthemes?\b|\boverview\b|\bsummari[sz]e\b",
    re.IGNORECASE,
)
LISTING = re.compile(
    r"^\s*(which|what)\s+(?:\w+\s+){0,4}?(are|were)\s+(described|mentioned|discussed|covered|listed|named)\b"
    r"|^\s*(list|name)\s+(all|every|the)\b",
    re.IGNORECASE,
)
SPREAD_THRESHOLD = 0.6  # share of distinct communities among the first hits above which they count as spread
SPREAD_HITS = 10


@dataclass(frozen=True)
class ScopeChoice:
    use_global: bool
    reason: str

    @property
    def note(self) -> str:
        return f"auto mode chose {'global' if self.use_global else 'local'} search: {self.reason}"


def hit_spread(chunk_ids: Sequence[str], store: GraphStore, index: CommunityIndex) -> float | None:
    """Distinct level-0 communities among the hits' communities, over the hits that have one (None: none)."""
    entities = store.entities_of_chunks(list(chunk_ids))
    homes: list[str] = []
    for chunk_id in chunk_ids:
        counts: dict[str, int] = {}
        for entity_id in entities.get(chunk_id, ()):
            memberships = index.of_entity.get(entity_id)
            if memberships:
                counts[memberships[0]] = counts.get(memberships[0], 0) + 1
        if counts:
            homes.append(max(sorted(counts), key=lambda c: counts[c]))  # the chunk's main community
    return len(set(homes)) / len(homes) if homes else None


def choose_scope(question: str, spread: float | None, has_communities: bool) -> ScopeChoice:
    """Global or local for this question, with the reason in words."""
    if not has_communities:
        return ScopeChoice(False, "the workspace has no communities yet")
    named = COLLECTION.search(question)
    if named:
        return ScopeChoice(True, f"the question is about the collection as a whole ({named.group(0)!r})")
    spread_text = "unknown" if spread is None else f"{spread:.2f}"
    if LISTING.search(question):
        if spread is not None and spread >= SPREAD_THRESHOLD:
            return ScopeChoice(
                True, f"it asks for a list and its first hits are spread over communities ({spread_text})"
            )
        return ScopeChoice(False, f"it asks for a list but its first hits are concentrated (spread {spread_text})")
    return ScopeChoice(False, f"a specific question (first hits' spread over communities {spread_text})")
