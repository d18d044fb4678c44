"""The embedded store's mention pairs (which chunk mentions which entity) in memory, both ways, in step
with writes.

Every question reads them four times: the graph read finds the entities that share a chunk with the
question's and then takes every pair of the ~250 it reached (a few thousand pairs), the learned fusion asks
which entities its ~200 candidate chunks mention (the co-evidence features), and TreeHop asks the same of the
passages it hops from. From SQLite those were ~10 ms of CPU per ~60 ms question; from this map they cost a
fraction of that. It is loaded at the first read (152,969 pairs of the full multi-hop corpus: 0.25 s), patched
by mention upserts (the only write that adds pairs) and dropped, like the vector matrices, by any write that
removes rows or does not land.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Sequence


class MentionPairs:
    """Sorted entity ids per chunk and sorted chunk ids per entity, for every mention pair of a workspace."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        """``pairs``: ``(chunk_id, entity_id)`` rows, sorted by both (as the store reads them)."""
        self._entities: dict[str, list[str]] = {}
        self._chunks: dict[str, list[str]] = {}
        for chunk_id, entity_id in pairs:
            self._entities.setdefault(chunk_id, []).append(entity_id)
            self._chunks.setdefault(entity_id, []).append(chunk_id)
        for chunks in self._chunks.values():
            chunks.sort()

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        for chunk_id, entity_id in pairs:
            entities = self._entities.setdefault(chunk_id, [])
            if entity_id not in entities:
                insort(entities, entity_id)
                insort(self._chunks.setdefault(entity_id, []), chunk_id)

    def entities_of(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        """The entities of each chunk that mentions any, by chunk id in sorted order (the SQL read's order)."""
        return {c: list(self._entities[c]) for c in sorted(set(chunk_ids)) if c in self._entities}

    def pairs_of(self, entity_ids: Iterable[str]) -> list[tuple[str, str]]:
        """Every ``(chunk_id, entity_id)`` pair of these entities, by entity in the order given, then by chunk.
        Not sorted by chunk: sorting ~4,500 pairs of ids took 3.5 ms of the graph read, and no reader needs it."""
        return [(c, e) for e in dict.fromkeys(entity_ids) for c in self._chunks.get(e, ())]

    def co_mentioned(self, entity_ids: Iterable[str]) -> set[str]:
        """The entities that share a chunk with any of these (themselves included, where mentioned)."""
        found: set[str] = set()
        for entity_id in entity_ids:
            for chunk_id in self._chunks.get(entity_id, ()):
                found.update(self._entities[chunk_id])
        return found
