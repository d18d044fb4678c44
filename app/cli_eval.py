"""``amalgam eval``: retrieval quality on benchmark data, and refitting the learned parts on its train split.

Each command parses its options and calls one function of ``app.evaluation``; a data set or settings
problem prints one error line and exits 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from app.errors import AmalgamError
from app.evaluation.datasets import DEFAULT_DATASET
from app.evaluation.metrics import METHODS
from app.evaluation.refit import DEFAULT_FOLDS
from retrieval.fusion.learned import DEFAULT_PATH as LEARNED_FUSION_PATH
from retrieval.fusion.learned import TRAINED_SIGNALS

eval_app = typer.Typer(help="Measure retrieval on benchmark data.", no_args_is_help=True)
T = TypeVar("T")

DatasetDir = Annotated[Path, typer.Option(help="folder with corpus.jsonl and questions.jsonl")]
LimitQuestions = Annotated[
    int | None,
    typer.Option(help="only the first N questions of each dataset, over a workspace of just their context passages"),
]
TorchThreads = Annotated[int, typer.Option(help="torch CPU threads; 1 avoids oversubscription on busy boxes")]


def _run(call: Callable[[], T]) -> T:
    try:
        return call()
    except AmalgamError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@eval_app.command("multihop")
def multihop(
    split: Annotated[str, typer.Option(help="dev (report) or train; never tune on dev")] = "dev",
    limit_questions: LimitQuestions = None,
    methods: Annotated[str, typer.Option(help=f"comma-separated subset of: {', '.join(METHODS)}")] = "all",
    dataset_dir: DatasetDir = DEFAULT_DATASET,
    output: Annotated[Path | None, typer.Option(help="also write the scores as JSON here")] = None,
    torch_threads: TorchThreads = 0,
) -> None:
    """Ingest the corpus with `amalgam ingest`'s pipeline (cached), then score each retriever on the split."""
    from app.evaluation.multihop import run_multihop

    _run(
        lambda: run_multihop(
            dataset_dir,
            split,
            limit_questions=limit_questions,
            methods=methods,
            output=output,
            torch_threads=torch_threads,
            echo=typer.echo,
        )
    )


@eval_app.command("tune-fusion")
def tune_fusion(
    split: Annotated[str, typer.Option(help="train only: tuning on dev would inflate the dev figures")] = "train",
    limit_questions: LimitQuestions = None,
    dataset_dir: DatasetDir = DEFAULT_DATASET,
    torch_threads: TorchThreads = 0,
    treehop_folds: Annotated[
        Path | None,
        typer.Option(
            help="folder for two passage-model TreeHops, each trained on one half of the train split (trained "
            "there on first use); only used with AMALGAM_TREEHOP_CONTEXT=passage"
        ),
    ] = None,
) -> None:
    """Coordinate search of the hybrid fusion weights and RRF k on the train split; prints the best."""
    from app.evaluation.refit import tune_fusion as run

    _run(
        lambda: run(
            dataset_dir,
            split=split,
            limit_questions=limit_questions,
            treehop_folds=treehop_folds,
            torch_threads=torch_threads,
            echo=typer.echo,
        )
    )


@eval_app.command("train-fusion")
def train_fusion(
    treehop_folds: Annotated[
        Path, typer.Option(help="the two TreeHop fold models (see tune-fusion); trained there when missing")
    ] = DEFAULT_FOLDS,
    output: Annotated[Path, typer.Option(help="where to write the model (JSON)")] = LEARNED_FUSION_PATH,
    l2: Annotated[float, typer.Option(help="L2 penalty on the standardised weights")] = 1e-4,
    signals: Annotated[
        str, typer.Option(help="comma-separated signals the model reads (the others are not computed when it ranks)")
    ] = ",".join(TRAINED_SIGNALS),
    limit_questions: LimitQuestions = None,
    dataset_dir: DatasetDir = DEFAULT_DATASET,
    torch_threads: TorchThreads = 0,
) -> None:
    """Fit the learned fusion on the train split, print its 2-fold recall@5 next to RRF's and next to models
    without each signal, and save it."""
    from app.evaluation.refit import train_fusion as run

    _run(
        lambda: run(
            dataset_dir,
            output,
            signals=[name.strip() for name in signals.split(",") if name.strip()],
            treehop_folds=treehop_folds,
            l2=l2,
            limit_questions=limit_questions,
            torch_threads=torch_threads,
            echo=typer.echo,
        )
    )


@eval_app.command("tune-treehop")
def tune_treehop(
    limit_questions: LimitQuestions = None,
    dataset_dir: DatasetDir = DEFAULT_DATASET,
    torch_threads: TorchThreads = 0,
    keep: Annotated[
        int | None, typer.Option(help="hop-1 passages whose entities spawn next queries (default: the shipped 3)")
    ] = None,
) -> None:
    """Grid over TreeHop's mention-query weights on the train split; prints the best settings next to dense."""
    from app.evaluation.refit import tune_treehop as run

    _run(
        lambda: run(
            dataset_dir, limit_questions=limit_questions, keep=keep, torch_threads=torch_threads, echo=typer.echo
        )
    )
