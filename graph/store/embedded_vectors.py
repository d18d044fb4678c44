"""The embedded store's in-memory vector matrix of one table, kept in step with writes.

Loading every embedding from SQLite costs time in proportion to the workspace; doing it after
every write made ingest slow down as the workspace grew. Upserts patch the cached matrix instead
(replace a row, or append one into spare capacity), so a write costs in proportion to its rows.
Deletes still drop the cache (they are rare, and a reload is always correct).

One question scans the whole matrix once to link its entities: 120 MB of float32 at 78k entities, a memory
bandwidth cost (8 ms). A large matrix also keeps a half-precision copy in FAISS (``HalfPrecisionCopy``) that
such a search scans instead, half the bytes, and its candidates are then scored exactly; the result is the
exact one (see ``exact_candidates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Rows from which a single-query search goes through the half-precision copy; below, the float32 product is
# already fast. (It also keeps small test stores on the plain path.)
HALF_PRECISION_FROM = 20_000
# Largest error of a cosine computed from half-precision unit vectors: each component is off by at most
# 2**-11 of its magnitude, so |q . (m - half(m))| <= 2**-11 for unit q and m; twice that, for safety.
HALF_PRECISION_ERROR = 2.0**-10


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
        self._half: HalfPrecisionCopy | None = None  # built at the first search that uses it

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
        known = len(self.ids)
        replaced = []
        for i, item in enumerate(ids):
            row = self._position.get(item)
            if row is None:
                row = self._position[item] = len(self.ids)
                self.ids.append(item)
            else:
                replaced.append(row)
            self._data[row] = rows[i]
        if self._half is not None:
            self._half.update(replaced, self._data[replaced], self._data[known : len(self.ids)])

    def exact_candidates(self, query: np.ndarray, k: int) -> np.ndarray | None:
        """Rows that hold the exact top ``k`` of one unit ``query`` and every row within 2e-6 of the k-th (the
        store's rounding ties), found through the half-precision copy; None where the matrix is small or the
        copy cannot guarantee that (many rows as close as its error to the k-th), and the caller scans all."""
        if len(self.ids) < HALF_PRECISION_FROM:
            return None
        if self._half is None:
            self._half = HalfPrecisionCopy(self.matrix)
        depth = max(64, 4 * k)
        approximate, rows = self._half.search(query, depth)
        rows = rows[rows >= 0]
        if len(rows) < depth:
            return None
        exact = self.matrix[rows] @ query
        kth = np.partition(exact, len(exact) - k)[len(exact) - k]
        # A row outside these scores at most approximate[-1] + error exactly: it cannot reach the k-th.
        if approximate[-1] + 2 * HALF_PRECISION_ERROR >= kth - 2e-6:
            return None
        return np.asarray(rows)


class HalfPrecisionCopy:
    """The matrix's rows in float16 inside a FAISS scalar-quantizer index (SIMD half-precision dot products),
    patched in place as rows are replaced and extended as rows are appended."""

    def __init__(self, rows: np.ndarray) -> None:
        import faiss

        self._faiss = faiss
        self._index: Any = faiss.IndexScalarQuantizer(
            rows.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        self._index.add(np.ascontiguousarray(rows, dtype=np.float32))

    def search(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate scores (best first) and rows of the ``depth`` nearest rows."""
        scores, rows = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), depth)
        return scores[0], rows[0]

    def update(self, positions: Sequence[int], replaced: np.ndarray, appended: np.ndarray) -> None:
        """Rewrite the rows at ``positions`` with ``replaced`` and append ``appended`` after the last row."""
        if len(positions):
            codes = self._faiss.rev_swig_ptr(self._index.codes.data(), self._index.ntotal * self._index.code_size)
            half = np.ascontiguousarray(replaced, dtype=np.float16).view(np.uint8)
            codes.reshape(self._index.ntotal, self._index.code_size)[list(positions)] = half
        if len(appended):
            self._index.add(np.ascontiguousarray(appended, dtype=np.float32))
