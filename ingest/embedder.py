"""The embedder protocol. Several stages need text embeddings (semantic chunking, entity
resolution, retrieval); they receive an ``Embedder`` wired in by ``app.pipeline`` and never
load a model themselves. The sentence-transformers implementation is ``retrieval.embeddings``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)`` with L2-normalised rows."""
        ...


Span = tuple[int, int]  # character offsets [start, end) into one text


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An embedder that can also pool vectors for parts of a text from the same encoder pass."""

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector (exactly as ``embed`` gives it) and, per text, one L2-normalised row
        per span: the mean of the text's own contextual token vectors that overlap the span (a zero
        row where no token does, e.g. a span past the model's truncation)."""
        ...


class CachedEmbedder:
    """An ``Embedder`` that remembers vectors on disk, keyed by a hash of model name and text.

    Entity resolution embeds the same "name: description" texts again and again: a stored
    entity's text in every batch that meets it, a mention's text once for itself and once as a
    new entity's text. Each distinct text is encoded once per workspace; later calls, batches and
    runs read it back. The cache is only ever an accelerator: a lost or unreadable file is
    recreated empty (a vector's key names its model, so a changed model never reads stale rows).
    """

    def __init__(self, inner: Embedder, path: Path, model: str) -> None:
        self.inner, self.path, self.model = inner, Path(path), model
        self._lock = threading.Lock()
        self._db = self._open()
        self.hits = self.misses = 0

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a cache: losing the last rows on a crash is harmless
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID")
        except sqlite3.DatabaseError:  # not a database (a damaged cache): start over
            db.close()
            self.path.unlink(missing_ok=True)
            return self._open()
        return db

    @property
    def dim(self) -> int:
        return self.inner.dim

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found = self._read(set(keys))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        if missing:
            vectors = np.asarray(self.inner.embed(missing), dtype=np.float32)
            fresh = {self._key(t): v for t, v in zip(missing, vectors, strict=True)}
            self._write(fresh)
            found.update(fresh)
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys])

    def _read(self, keys: set[str]) -> dict[str, np.ndarray]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, vector FROM vectors WHERE key IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(keys)),),
            ).fetchall()
        return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows}

    def _write(self, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                [(key, vector.astype(np.float32).tobytes()) for key, vector in vectors.items()],
            )
            self._db.execute("COMMIT")
