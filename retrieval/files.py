"""Atomic writes of the retrieval caches, safe when two threads save the same file at once."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def save_npz_atomically(path: Path, **arrays: np.ndarray) -> None:
    """Write to a temporary file of its own, then rename over `path`.

    Each writer gets a unique temporary name: with one fixed name, two threads opening the
    retriever together (a job's rebuild beside a search) renamed each other's file away.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as tmp:
            np.savez(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
