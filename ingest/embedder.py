"""The embedder protocol. Several stages need text embeddings (semantic chunking, entity
resolution, retrieval); they receive an ``Embedder`` wired in by ``app.pipeline`` and never
load a model themselves. The sentence-transformers implementation is ``retrieval.embeddings``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)`` with L2-normalised rows."""
        ...
