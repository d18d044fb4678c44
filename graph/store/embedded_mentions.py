"""The embedded store's map from chunk to the entities it mentions, kept in memory and in step with writes.

Every question's fusion asks which entities its ~200 candidate chunks mention (the co-evidence features), and
TreeHop asks the same of the passages it hops from. Read from SQLite that was 3 ms of a ~60 ms question; the
map answers in a tenth of that. It is loaded at the first read, patched by mention upserts (the only write
that adds pairs) and dropped, like the vector matrices, by any write that removes rows or does not land.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Sequence


class ChunkEntities:
    """Sorted entity ids per chunk, for every chunk that mentions one."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        """``pairs``: ``(chunk_id, entity_id)`` rows, sorted by both (as the store reads them)."""
        self._entities: dict[str, list[str]] = {}
        for chunk_id, entity_id in pairs:
            self._entities.setdefault(chunk_id, []).append(entity_id)

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        for chunk_id, entity_id in pairs:
            known = self._entities.setdefault(chunk_id, [])
            if entity_id not in known:
                insort(known, entity_id)

    def of(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        """The entities of each chunk that mentions any, by chunk id in sorted order (the SQL read's order)."""
        return {c: list(self._entities[c]) for c in sorted(set(chunk_ids)) if c in self._entities}
