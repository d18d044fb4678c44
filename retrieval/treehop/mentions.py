"""Entity mentions as TreeHop contexts: the next query points at an entity the retrieved passage names.

The bridge of a 2-hop question is an entity that hop-1 passage ``A`` names and that hop-2 passage ``B`` is
about. A pooled MiniLM vector of ``A`` barely encodes *which* entities it names, so a next query computed
from ``A``'s vector rarely finds ``B`` (docs/bench-treehop.md, round 2). The vector of the entity's *name*
does: with the right name picked, ``normalize(m + q)`` (the name plus the question, which keeps the
relation words) puts ``B`` in its top 5 for 81% of train chains, against 44% for the question alone.
The search spawns one such query per (passage, named entity) and lets the merged ranking filter them, so
no LLM and no text matching is involved: names come from the graph the ingest already built, and are
embedded once by the same embedder as everything else.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from graph.models import Entity
from graph.store.base import EntityName, GraphStore
from retrieval.files import save_npz_atomically

log = logging.getLogger(__name__)
# Entity types that name no passage of their own: a date or a count is never a bridge worth a query.
NUMERIC_TYPES = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "MONEY"})
MAX_NAMES_PER_CHUNK = 20  # a passage names ~10 entities on average; the cap bounds the hop's cost
NAME_CACHE = "entity-name-vectors.npz"  # a workspace's embedded entity names, in its folder


class MentionSource(Protocol):
    def mention_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit vectors ``(m, d)`` of the entities each chunk names; chunks naming none are left out."""
        ...


class NameVectors:
    """Unit vectors of entity names, embedded once each (missing names in one batch per call)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], model_name: str = "") -> None:
        self.embed, self.model_name = embed, model_name
        self._rows: dict[str, int] = {}
        self._vectors: list[np.ndarray] = []
        self._saved = 0  # how many names the last save or load covered
        # The API answers questions on several threads; a name's row and its vector must be added together.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def unsaved(self) -> int:
        """Names embedded since the last ``save`` or ``load``."""
        return len(self._rows) - self._saved

    def get(self, names: Sequence[str]) -> np.ndarray:
        self.add(names)
        if not names:
            return np.zeros((0, 0), np.float32)
        with self._lock:
            return np.stack([self._vectors[self._rows[name]] for name in names])

    def add(self, names: Iterable[str], batch_size: int = 4096) -> None:
        missing = list(dict.fromkeys(n for n in names if n not in self._rows))
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            self._append(batch, np.asarray(self.embed(batch), dtype=np.float32))

    def _append(self, names: Sequence[str], vectors: Iterable[np.ndarray]) -> None:
        with self._lock:
            for name, vector in zip(names, vectors, strict=True):
                if name not in self._rows:  # another thread may have added it meanwhile
                    self._rows[name] = len(self._vectors)
                    self._vectors.append(vector)

    def save(self, path: Path) -> None:
        """Atomically, with the embedder's name so a cache for another model is never read back."""
        with self._lock:
            vectors = np.stack(self._vectors) if self._vectors else np.zeros((0, 0), np.float32)
            # Names as one JSON string: a fixed-width unicode array would pad every name to the longest.
            names = np.array(json.dumps(list(self._rows)))
            covered = len(self._rows)
        save_npz_atomically(path, names=names, vectors=vectors, model=np.array(self.model_name))
        self._saved = covered

    def load(self, path: Path) -> bool:
        """Add the names cached in ``path``; False (nothing read) when it is missing or for another model."""
        if not path.exists():
            return False
        try:
            with np.load(path, allow_pickle=False) as cached:
                if str(cached["model"]) != self.model_name:
                    return False
                names, vectors = json.loads(str(cached["names"])), np.asarray(cached["vectors"], np.float32)
        except (OSError, ValueError, KeyError) as exc:  # unreadable or another layout: embed again
            log.warning("ignoring the entity-name cache %s: %s", path, exc)
            return False
        self._append(names, vectors)
        self._saved = len(self._rows)
        return True


class StoreMentions:
    """Mentions read from the graph store: one ``entities_of_chunks`` and one ``entity_names`` per hop."""

    def __init__(self, store: GraphStore, names: NameVectors, *, per_chunk: int = MAX_NAMES_PER_CHUNK) -> None:
        self.store, self.names, self.per_chunk = store, names, per_chunk

    def names_of(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        by_chunk = self.store.entities_of_chunks(chunk_ids)
        wanted = sorted({entity_id for ids in by_chunk.values() for entity_id in ids})
        names = {e.id: e.name for e in self.store.entity_names(wanted) if _can_bridge(e)}
        result = {}
        for chunk_id, entity_ids in by_chunk.items():
            chunk_names = sorted({names[i] for i in entity_ids if i in names})[: self.per_chunk]
            if chunk_names:
                result[chunk_id] = chunk_names
        return result

    def mention_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        names = self.names_of(chunk_ids)
        self.names.add(name for chunk_names in names.values() for name in chunk_names)
        return {chunk_id: self.names.get(chunk_names) for chunk_id, chunk_names in names.items()}

    def warm(self, batch_size: int = 5000) -> int:
        """Embed every entity name in the store not embedded yet, so that questions never pay for it; returns
        how many names were embedded here (the engine that owns ``names`` saves them to its cache)."""
        before = len(self.names)
        self.names.add(e.name for e in self.store.iter_entities(batch_size) if _can_bridge(e))  # batches itself
        embedded = len(self.names) - before
        log.info("entity names: %d embedded now, %d in all", embedded, len(self.names))
        return embedded


def _can_bridge(entity: Entity | EntityName) -> bool:
    return entity.type.upper() not in NUMERIC_TYPES


def mention_queries(questions: np.ndarray, mentions: np.ndarray, question_weight: float) -> np.ndarray:
    """``normalize(m + λ·q)`` row by row: the named entity, steered by the question's relation words."""
    queries = mentions + question_weight * questions
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    return np.asarray(queries / np.maximum(norms, 1e-12), dtype=np.float32)
