"""The per-workspace search indexes (dense FAISS + BM25) that ingest and delete keep in step.

Several processes may open one workspace (a server, a CLI ingest). A save writes a new *generation*
token last, under an exclusive lock that an open takes shared, so an open never reads half of a save and
an open index can tell that another process has saved since (``is_current``). What a retriever opens beside
the indexes (the community vectors) starts a new generation too when it changes (``mark_changed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.locks import file_lock
from ingest.models import Chunk
from retrieval.index.faiss import AnnKind, FaissIndex
from retrieval.sparse import BM25Index


class IndexSet:
    """``IndexSet.open(workspace_dir, dim)`` -> ``add_chunks`` / ``remove_chunks`` -> ``save()``.

    Both indexes live under ``workspace_dir / "index"``. Adding a chunk again replaces it, so a
    re-ingest is idempotent; nothing is written until ``save()``, which replaces files atomically.
    """

    SUBDIR = "index"
    LOCK_FILE = ".lock"
    GENERATION_FILE = "generation"

    def __init__(
        self, dense: FaissIndex, sparse: BM25Index, *, directory: Path | None = None, generation: str = ""
    ) -> None:
        self.dense = dense
        self.sparse = sparse
        self.directory = directory
        self.generation = generation  # the saved state this object started from, or last wrote

    @classmethod
    def open(cls, workspace_dir: Path, dim: int, *, ann: AnnKind = "hnsw", ann_threshold: int = 100_000) -> IndexSet:
        directory = workspace_dir / cls.SUBDIR
        with file_lock(directory / cls.LOCK_FILE, shared=True):
            return cls(
                FaissIndex.open(dim, directory, ann=ann, ann_threshold=ann_threshold),
                BM25Index.open(directory),
                directory=directory,
                generation=saved_generation(directory),
            )

    def is_current(self) -> bool:
        """False when the files were saved (by any process) after this object read or wrote them."""
        return self.directory is None or saved_generation(self.directory) == self.generation

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
        if self.directory is None:
            self.dense.save()
            self.sparse.save()
            return
        with file_lock(self.directory / self.LOCK_FILE):
            self.dense.save()
            self.sparse.save()
            self.generation = _write_generation(self.directory)  # last: the save is whole once it changes

    def follow_own_change(self) -> None:
        """Take the saved generation as this object's own, after this process changed only what lies beside the
        indexes (``mark_changed``) while holding the workspace's write lock: its copy in memory is still what
        is saved, so the next write need not reopen it."""
        if self.directory is not None:
            self.generation = saved_generation(self.directory)


def mark_changed(directory: Path) -> None:
    """Start a new generation without saving the indexes, for what retrievers open beside them (the community
    hierarchy and its vectors): every open retriever then reopens, as after a save."""
    with file_lock(directory / IndexSet.LOCK_FILE):
        _write_generation(directory)


def _write_generation(directory: Path) -> str:
    generation = uuid.uuid4().hex
    staging = directory / (IndexSet.GENERATION_FILE + ".tmp")
    staging.write_text(generation)
    staging.replace(directory / IndexSet.GENERATION_FILE)
    return generation


def saved_generation(directory: Path) -> str:
    """The token of the last save into ``directory`` ("" before the first)."""
    try:
        return (directory / IndexSet.GENERATION_FILE).read_text().strip()
    except FileNotFoundError:
        return ""
