"""A persisted FAISS inner-product index over chunk embeddings, keyed by chunk id.

Vectors are L2-normalised, so inner product is cosine. String chunk ids map to int64 FAISS ids by
hash; the mapping back is kept beside the index. A GPU copy is used for search when faiss sees a GPU.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.types import ScoredChunk


def faiss_id(chunk_id: str) -> int:
    """A stable non-negative int64 for a chunk id (60 bits of its sha1)."""
    return int(hashlib.sha1(chunk_id.encode()).hexdigest()[:15], 16)


def _faiss() -> Any:
    import faiss

    return faiss


class FaissIndex:
    INDEX_FILE = "chunks.faiss"
    IDS_FILE = "chunk_ids.json"

    def __init__(self, dim: int, directory: Path | None = None) -> None:
        self.dim = dim
        self.directory = directory
        faiss = _faiss()
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._ids: dict[int, str] = {}
        self._gpu_index: Any = None

    # -- persistence -------------------------------------------------------------------------------
    @classmethod
    def open(cls, dim: int, directory: Path) -> FaissIndex:
        index = cls(dim, directory)
        path = directory / cls.INDEX_FILE
        if path.exists():
            loaded = _faiss().read_index(str(path))
            if loaded.d != dim:
                raise ValueError(f"index at {path} has dimension {loaded.d}, the embedder gives {dim}")
            index._index = loaded
            index._ids = {int(k): v for k, v in json.loads((directory / cls.IDS_FILE).read_text()).items()}
        return index

    def save(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / (self.INDEX_FILE + ".tmp")
        _faiss().write_index(self._index, str(tmp))
        tmp.replace(self.directory / self.INDEX_FILE)  # atomic: a crash never leaves half an index
        ids_tmp = self.directory / (self.IDS_FILE + ".tmp")
        ids_tmp.write_text(json.dumps({str(k): v for k, v in self._ids.items()}))
        ids_tmp.replace(self.directory / self.IDS_FILE)

    # -- updates -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._index.ntotal)

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, str) and faiss_id(chunk_id) in self._ids

    def add(self, chunk_ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add or replace vectors; re-adding an id replaces its vector (idempotent)."""
        if not chunk_ids:
            return
        ids = np.array([faiss_id(c) for c in chunk_ids], dtype=np.int64)
        self._index.remove_ids(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._ids.update(zip(ids.tolist(), chunk_ids, strict=True))
        self._gpu_index = None

    def remove(self, chunk_ids: Sequence[str]) -> int:
        ids = np.array([faiss_id(c) for c in chunk_ids], dtype=np.int64)
        removed = int(self._index.remove_ids(ids)) if len(ids) else 0
        for i in ids.tolist():
            self._ids.pop(i, None)
        self._gpu_index = None
        return removed

    def reconstruct(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these chunks (used by multi-hop query updates)."""
        return np.stack([self._index.reconstruct(faiss_id(c)) for c in chunk_ids]).astype(np.float32)

    # -- search ------------------------------------------------------------------------------------
    def _searcher(self) -> Any:
        faiss = _faiss()
        if self._gpu_index is None and hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0:
            self._gpu_index = faiss.index_cpu_to_all_gpus(self._index)
        return self._gpu_index or self._index

    def search_batch(self, queries: np.ndarray, k: int) -> list[list[ScoredChunk]]:
        if len(self) == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        scores, ids = self._searcher().search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(self)))
        return [
            [ScoredChunk(self._ids[i], float(s)) for s, i in zip(row_s, row_i, strict=True) if i >= 0]
            for row_s, row_i in zip(scores, ids, strict=True)
        ]

    def search(self, query: np.ndarray, k: int) -> list[ScoredChunk]:
        return self.search_batch(query.reshape(1, -1), k)[0]
