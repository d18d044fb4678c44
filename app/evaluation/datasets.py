"""The multi-hop benchmark data sets under ``shared/datasets/`` (see their READMEs): passages and questions,
loaded once for the evaluation harness and for TreeHop training alike."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import AmalgamError

# In a checkout, shared/ sits beside the repository; commands take a --dataset-dir to override it.
DEFAULT_DATASET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "multihop"
DATA_FILES = ("corpus.jsonl", "questions.jsonl")


class DatasetError(AmalgamError):
    """The multi-hop data set is missing or malformed."""


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str
    source: str = ""

    @property
    def full_text(self) -> str:
        """What is embedded and indexed: title first, since most multi-hop links are by entity name."""
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
    answer_aliases: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def context_ids(self) -> list[str]:
        """The passages the benchmark gave with this question (gold and distractors); gold alone if absent."""
        ids = self.extra.get("context_ids")
        return [str(i) for i in ids] if isinstance(ids, list) else list(self.supporting_ids)


def check_dataset_dir(data_dir: Path) -> None:
    """Fail with the missing file's name before anything slow starts."""
    if not data_dir.is_dir():
        raise DatasetError(f"data set folder not found: {data_dir}")
    missing = [name for name in DATA_FILES if not (data_dir / name).is_file()]
    if missing:
        raise DatasetError(
            f"{data_dir} lacks {' and '.join(missing)} (a data set folder holds {', '.join(DATA_FILES)})"
        )


def first_per_dataset(questions: list[Question], limit: int | None) -> list[Question]:
    """The first ``limit`` questions of each dataset, in file order (all of them without a limit): a quick
    run still covers every dataset (the files are sorted by dataset, so a plain prefix would not)."""
    if limit is None:
        return questions
    taken: dict[str, int] = {}
    chosen = []
    for question in questions:
        if taken.get(question.dataset, 0) < limit:
            taken[question.dataset] = taken.get(question.dataset, 0) + 1
            chosen.append(question)
    return chosen


def context_passages(passages: list[Passage], questions: list[Question]) -> list[Passage]:
    """The passages these questions' contexts name, in corpus order: a small corpus that still holds every
    question's gold passages and its benchmark distractors (``--limit-questions``)."""
    wanted = {p for q in questions for p in (*q.context_ids, *q.supporting_ids)}
    return [p for p in passages if p.id in wanted]


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


def load_passages(data_dir: Path = DEFAULT_DATASET) -> list[Passage]:
    rows = _read_jsonl(data_dir / "corpus.jsonl")
    try:
        return [Passage(str(r["id"]), str(r["title"]), str(r["text"]), str(r.get("source", ""))) for r in rows]
    except KeyError as exc:
        raise DatasetError(f"corpus.jsonl row lacks field {exc}") from exc


def load_questions(data_dir: Path = DEFAULT_DATASET, split: str | None = None) -> list[Question]:
    known = {"id", "dataset", "question", "answer", "split", "supporting_ids", "type", "hop_order", "answer_aliases"}
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
                    answer_aliases=[str(a) for a in row.get("answer_aliases") or []],  # type: ignore[attr-defined]
                    extra={k: v for k, v in row.items() if k not in known},
                )
            )
        except KeyError as exc:
            raise DatasetError(f"questions.jsonl row lacks field {exc}") from exc
    return questions
