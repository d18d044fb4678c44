"""The embedded store's in-memory vector matrix of one table, kept in step with writes.

Loading every embedding from SQLite costs time in proportion to the workspace; doing it after
every write made ingest slow down as the workspace grew. Upserts patch the cached matrix instead
(replace a row, or append one into spare capacity), so a write costs in proportion to its rows.
Deletes still drop the cache (they are rare, and a reload is always correct).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


class VectorMatrix:
    """Row-normalised float32 vectors by id; ``ids`` and ``matrix`` are the live rows, in step."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """``vectors``: one row per id, shape ``(len(ids), dim)``."""
        self.ids = list(ids)
        self._position = {item: row for row, item in enumerate(self.ids)}
        self._data = _normalised(np.asarray(vectors, dtype=np.float32))

    @property
    def matrix(self) -> np.ndarray:
        return self._data[: len(self.ids)]

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Replace the rows of known ids, append the others (capacity doubles, so appends are cheap)."""
        if not ids:
            return
        rows = _normalised(np.asarray(vectors, dtype=np.float32).reshape(len(ids), self._data.shape[1]))
        new = [i for i, item in enumerate(ids) if item not in self._position]
        needed = len(self.ids) + len(new)
        if needed > len(self._data):
            grown = np.empty((max(needed, 2 * len(self._data), 64), self._data.shape[1]), dtype=np.float32)
            grown[: len(self.ids)] = self.matrix
            self._data = grown
        for i, item in enumerate(ids):
            row = self._position.get(item)
            if row is None:
                row = self._position[item] = len(self.ids)
                self.ids.append(item)
            self._data[row] = rows[i]
