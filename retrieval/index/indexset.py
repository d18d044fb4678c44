"""The per-workspace search indexes (dense FAISS + BM25) that ingest and delete keep in step."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.models import Chunk
from retrieval.index.faiss import AnnKind, FaissIndex
from retrieval.sparse import BM25Index


class IndexSet:
    """``IndexSet.open(workspace_dir, dim)`` -> ``add_chunks`` / ``remove_chunks`` -> ``save()``.

    Both indexes live under ``workspace_dir / "index"``. Adding a chunk again replaces it, so a
    re-ingest is idempotent; nothing is written until ``save()``, which replaces files atomically.
    """

    SUBDIR = "index"

    def __init__(self, dense: FaissIndex, sparse: BM25Index) -> None:
        self.dense = dense
        self.sparse = sparse

    @classmethod
    def open(cls, workspace_dir: Path, dim: int, *, ann: AnnKind = "hnsw", ann_threshold: int = 100_000) -> IndexSet:
        directory = workspace_dir / cls.SUBDIR
        return cls(
            FaissIndex.open(dim, directory, ann=ann, ann_threshold=ann_threshold),
            BM25Index.open(directory),
        )

    def __len__(self) -> int:
        return len(self.dense)

    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        ids = [c.id for c in chunks]
        self.dense.add(ids, vectors)
        self.sparse.add(ids, [c.text for c in chunks])

    def remove_chunks(self, chunk_ids: Sequence[str]) -> int:
        removed = self.dense.remove(chunk_ids)
        self.sparse.remove(chunk_ids)
        return removed

    def save(self) -> None:
        self.dense.save()
        self.sparse.save()
