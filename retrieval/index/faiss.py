"""A persisted FAISS inner-product index over chunk embeddings, keyed by chunk id.

Vectors are L2-normalised, so inner product is cosine. String chunk ids map to int64 FAISS ids by
hash; the mapping back is kept beside the index. An exact flat index is the source of truth (it is
what is reconstructed from and removed from). Above ``ann_threshold`` vectors, searches go to an
approximate index (IVF or HNSW) built from it and kept in step on add; IVF also follows removals,
HNSW cannot, so a removal drops it and it is rebuilt on the next search. A GPU copy of the searched
index is used when faiss sees a GPU (HNSW has no GPU version and stays on the CPU).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from retrieval.errors import RetrievalError
from retrieval.types import ScoredChunk

AnnKind = Literal["ivf", "hnsw"]


def faiss_id(chunk_id: str) -> int:
    """A stable non-negative int64 for a chunk id (60 bits of its sha1)."""
    return int(hashlib.sha1(chunk_id.encode()).hexdigest()[:15], 16)


def _faiss() -> Any:
    import faiss

    return faiss


class FaissIndex:
    INDEX_FILE = "chunks.faiss"
    ANN_FILE = "chunks.ann.faiss"
    IDS_FILE = "chunk_ids.json"

    def __init__(
        self,
        dim: int,
        directory: Path | None = None,
        *,
        ann: AnnKind = "hnsw",
        ann_threshold: int = 100_000,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 128,
    ) -> None:
        if ann not in ("ivf", "hnsw"):
            raise RetrievalError(f"unknown approximate index {ann!r}; known: hnsw, ivf")
        self.dim = dim
        self.directory = directory
        self.ann_kind: AnnKind = ann
        self.ann_threshold = ann_threshold
        self.nprobe = nprobe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        faiss = _faiss()
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._ann: Any = None
        self._ids: dict[int, str] = {}
        self._gpu_index: Any = None

    # -- persistence -------------------------------------------------------------------------------
    @classmethod
    def open(cls, dim: int, directory: Path, **options: Any) -> FaissIndex:
        index = cls(dim, directory, **options)
        path = directory / cls.INDEX_FILE
        if path.exists():
            faiss = _faiss()
            loaded = faiss.read_index(str(path))
            if loaded.d != dim:
                raise RetrievalError(f"index at {path} has dimension {loaded.d}, the embedder gives {dim}")
            index._index = loaded
            index._ids = {int(k): v for k, v in json.loads((directory / cls.IDS_FILE).read_text()).items()}
            ann_path = directory / cls.ANN_FILE
            if ann_path.exists():
                ann = faiss.read_index(str(ann_path))
                # A stale approximate index (crash between writes) is dropped and rebuilt on demand.
                index._ann = ann if ann.ntotal == loaded.ntotal else None
        return index

    def save(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_index(self._index, self.INDEX_FILE)
        ann_path = self.directory / self.ANN_FILE
        if self._ann is not None:
            self._write_index(self._ann, self.ANN_FILE)
        elif ann_path.exists():
            ann_path.unlink()
        ids_tmp = self.directory / (self.IDS_FILE + ".tmp")
        ids_tmp.write_text(json.dumps({str(k): v for k, v in self._ids.items()}))
        ids_tmp.replace(self.directory / self.IDS_FILE)

    def _write_index(self, index: Any, name: str) -> None:
        assert self.directory is not None
        tmp = self.directory / (name + ".tmp")
        _faiss().write_index(index, str(tmp))
        tmp.replace(self.directory / name)  # atomic: a crash never leaves half an index

    # -- updates -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._index.ntotal)

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, str) and faiss_id(chunk_id) in self._ids

    @property
    def chunk_ids(self) -> list[str]:
        return list(self._ids.values())

    def add(self, chunk_ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add or replace vectors; re-adding an id replaces its vector (idempotent)."""
        if not chunk_ids:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(chunk_ids), self.dim):
            raise RetrievalError(f"expected vectors of shape ({len(chunk_ids)}, {self.dim}), got {vectors.shape}")
        ids = np.array([faiss_id(c) for c in chunk_ids], dtype=np.int64)
        replaced = int(self._index.remove_ids(ids))
        self._index.add_with_ids(vectors, ids)
        self._ids.update(zip(ids.tolist(), chunk_ids, strict=True))
        if self._ann is not None:
            if replaced and self.ann_kind == "hnsw":
                self._ann = None  # HNSW cannot drop the old vectors: rebuild on the next search
            else:
                if replaced:
                    self._ann.remove_ids(ids)
                self._ann.add_with_ids(vectors, ids)
        self._gpu_index = None

    def remove(self, chunk_ids: Sequence[str]) -> int:
        ids = np.array([faiss_id(c) for c in chunk_ids], dtype=np.int64)
        removed = int(self._index.remove_ids(ids)) if len(ids) else 0
        for i in ids.tolist():
            self._ids.pop(i, None)
        if removed and self._ann is not None:
            if self.ann_kind == "ivf":
                self._ann.remove_ids(ids)
            else:
                self._ann = None
        self._gpu_index = None
        return removed

    def reconstruct(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these chunks (used by multi-hop query updates)."""
        if not chunk_ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = np.fromiter((faiss_id(c) for c in chunk_ids), dtype=np.int64, count=len(chunk_ids))
        return np.asarray(self._index.reconstruct_batch(keys), dtype=np.float32)  # one call, not one per chunk

    # -- approximate index -------------------------------------------------------------------------
    @property
    def uses_ann(self) -> bool:
        return len(self) >= self.ann_threshold

    def _all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array(list(self._ids.keys()), dtype=np.int64)
        vectors = np.stack([self._index.reconstruct(int(i)) for i in ids]).astype(np.float32)
        return ids, vectors

    def _build_ann(self) -> Any:
        faiss = _faiss()
        ids, vectors = self._all_vectors()
        if self.ann_kind == "hnsw":
            ann = faiss.IndexIDMap2(faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT))
        else:
            nlist = max(1, min(int(4 * math.sqrt(len(ids))), len(ids) // 39))  # faiss wants ~39 points/list
            ann = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            ann.train(vectors)
        ann.add_with_ids(vectors, ids)
        return ann

    def _tune(self, ann: Any) -> None:
        if self.ann_kind == "hnsw":
            _faiss().downcast_index(ann.index).hnsw.efSearch = self.ef_search
        else:
            ann.nprobe = self.nprobe

    # -- search ------------------------------------------------------------------------------------
    def _searcher(self) -> Any:
        if self.uses_ann and self._ann is None:
            self._ann = self._build_ann()
            self._gpu_index = None
        base = self._ann if self.uses_ann else self._index
        if self.uses_ann:
            self._tune(base)
        faiss = _faiss()
        gpu_capable = not (self.uses_ann and self.ann_kind == "hnsw")
        if gpu_capable and hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0:
            if self._gpu_index is None:
                self._gpu_index = faiss.index_cpu_to_all_gpus(base)
            return self._gpu_index
        return base

    def search_batch(self, queries: np.ndarray, k: int) -> list[list[ScoredChunk]]:
        if len(self) == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        queries, k = np.ascontiguousarray(queries, dtype=np.float32), min(k, len(self))
        searcher = self._searcher()
        if len(queries) > 1 and searcher is self._index:
            scores, ids = self._exact_batch(queries, k)
        else:
            scores, ids = searcher.search(queries, k)
        return [
            [
                ScoredChunk(self._ids[i], float(s))
                for s, i in zip(row_s, row_i, strict=True)
                if i >= 0 and i in self._ids
            ]
            for row_s, row_i in zip(scores, ids, strict=True)
        ]

    def _exact_batch(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (scores, ids) of several queries against the exact index, as one matrix product.

        FAISS scans every stored vector once per query until a batch is very large (its BLAS threshold), so
        TreeHop's ~20 next queries read the 19.6k-chunk matrix ~20 times: 22 ms a question. One product reads
        it once; torch's (already loaded: it runs the embedder) with its top-k took 4.5 ms where numpy's with
        argpartition took 8.0. Equal scores (duplicate passages) are ordered by their row, deterministically,
        also where they straddle the cut."""
        import torch

        faiss = _faiss()
        flat = faiss.downcast_index(self._index.index)
        # A view of the index's own storage: a retriever's indexes are never written while it searches (a
        # write saves new files and the engine swaps in a retriever over them).
        vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dim).reshape(flat.ntotal, self.dim)
        scores = torch.from_numpy(vectors) @ torch.from_numpy(queries).T  # (chunks, queries)
        kth = torch.topk(scores, k, dim=0).values[-1]
        rows, columns = (found.numpy() for found in torch.nonzero(scores >= kth, as_tuple=True))
        values = scores[rows, columns].numpy()
        order = np.lexsort((rows, -values, columns))  # per query: best score first, then the earlier row
        rows, columns, values = rows[order], columns[order], values[order]
        starts = np.searchsorted(columns, np.arange(len(queries)))
        picked = (starts[:, None] + np.arange(k)).ravel()  # each query has at least k rows at or above its k-th
        ids = faiss.vector_to_array(self._index.id_map)[rows[picked]]
        return values[picked].reshape(-1, k), ids.reshape(-1, k)

    def search(self, query: np.ndarray, k: int) -> list[ScoredChunk]:
        return self.search_batch(query.reshape(1, -1), k)[0]
