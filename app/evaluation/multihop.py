"""``amalgam eval multihop``: retrieval quality and latency of every retriever on a multi-hop data set, over a
workspace the product's own ingest built (see ``workspace.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from app.config import Settings, load_settings
from app.errors import ConfigError
from app.evaluation.datasets import (
    DatasetError,
    Passage,
    Question,
    check_dataset_dir,
    context_passages,
    first_per_dataset,
    load_passages,
    load_questions,
)
from app.evaluation.metrics import METHODS, evaluate, format_comparisons, format_table
from app.evaluation.workspace import EvalWorkspace, build_record, open_workspace, progress_bar, warm_entity_names
from app.runtime import limit_threads

Echo = Callable[[str], None]


@dataclass
class EvalRun:
    """A split's questions, the passages the workspace holds and the workspace itself."""

    questions: list[Question]
    passages: list[Passage]
    workspace: EvalWorkspace


def open_eval(
    dataset_dir: Path,
    split: str,
    *,
    limit_questions: int | None = None,
    settings: Settings | None = None,
    echo: Echo = print,
) -> EvalRun:
    """The split's questions and a workspace of the corpus (only those questions' context passages with
    ``limit_questions``), built by ingest under the user's settings and cached."""
    check_dataset_dir(dataset_dir)
    questions = first_per_dataset(load_questions(dataset_dir, split), limit_questions)
    if not questions:
        raise DatasetError(f"{dataset_dir / 'questions.jsonl'} has no {split!r} questions")
    passages = load_passages(dataset_dir)
    if limit_questions is not None:
        passages = context_passages(passages, questions)
    workspace = open_workspace(settings or load_settings(), passages)
    state = "built" if workspace.built else "reused"
    echo(f"workspace {workspace.engine.settings.workspace} ({state}): {len(passages)} passages")
    build = build_record(workspace.engine.settings)
    if build:
        echo(f"built by ingest in {build.get('ingest_seconds')} s: {build}")
    warm_entity_names(workspace)
    if workspace.retriever.multihop is None:
        echo("note: no TreeHop model for this embedder; the treehop method returns nothing")
    return EvalRun(questions, passages, workspace)


def run_multihop(
    dataset_dir: Path,
    split: str = "dev",
    *,
    limit_questions: int | None = None,
    methods: str = "all",
    output: Path | None = None,
    torch_threads: int = 0,
    echo: Echo = print,
) -> dict[str, dict[str, dict[str, float]]]:
    """Score each retriever on the split and print the table and the paired comparisons; returns the rows."""
    chosen = METHODS if methods == "all" else {m: METHODS[m] for m in method_names(methods)}
    limit_threads(torch_threads)
    run = open_eval(dataset_dir, split, limit_questions=limit_questions, echo=echo)
    try:
        texts = {p.id: p.full_text for p in run.passages}
        with question_progress(len(run.questions)) as advance:
            scores = evaluate(
                run.workspace.retriever, run.questions, run.workspace.chunk_to_passage, texts, chosen, advance
            )
    finally:
        run.workspace.close()
    echo(f"{len(run.questions)} {split} questions, {len(run.passages)} passages\n")
    echo(format_table(scores))
    echo("\n" + format_comparisons(scores))
    rows = {m: {b: s.row() for b, s in per.items()} for m, per in scores.items()}
    if output is not None:
        output.write_text(json.dumps(rows, indent=2))
    return rows


@contextmanager
def question_progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar over the questions (on stderr, so the tables on stdout stay clean)."""
    with progress_bar(Console(stderr=True)) as bar:
        task = bar.add_task("questions", total=total)
        yield lambda: bar.advance(task)


def method_names(methods: str) -> list[str]:
    names = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ConfigError(f"unknown method(s) {unknown}; known: {', '.join(METHODS)}")
    return names
