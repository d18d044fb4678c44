"""``amalgam treehop``: retrain the TreeHop query-update model, e.g. for another embedder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from app.errors import AmalgamError
from app.evaluation.datasets import DEFAULT_DATASET
from app.evaluation.treehop_data import DEFAULT_CACHE_ROOT

treehop_app = typer.Typer(help="TreeHop multi-hop retrieval model.", no_args_is_help=True)


@treehop_app.command("train")
def train_command(
    output: Annotated[Path, typer.Option(help="Directory for model.safetensors + config.json.")],
    data_dir: Annotated[
        Path, typer.Option(help="Multi-hop data set (corpus.jsonl, questions.jsonl).")
    ] = DEFAULT_DATASET,
    source: Annotated[
        list[str], typer.Option(help="Training data: 'train' (labelled train split) and/or 'generated'.")
    ] = ["train", "generated"],  # noqa: B006 - typer reads the default, never mutates it
    epochs: Annotated[int | None, typer.Option(min=1, help="Default: the recipe's (TrainConfig.epochs).")] = None,
    generated_limit: Annotated[
        int | None, typer.Option(min=0, help="At most this many generated hops; default: the recipe's.")
    ] = None,
    embedder: Annotated[str | None, typer.Option(help="Embedding model; default: the configured one.")] = None,
    cache_dir: Annotated[Path, typer.Option(help="Where embeddings of the data set are cached.")] = DEFAULT_CACHE_ROOT,
    evaluate: Annotated[bool, typer.Option(help="Report dev recall@2/5/10 vs dense afterwards.")] = True,
) -> None:
    """Train TreeHop on the train split (never dev) and/or corpus-generated hops, and save it."""
    from app.evaluation.treehop_training import train_treehop

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the epochs' losses
    try:
        train_treehop(
            output,
            data_dir,
            sources=tuple(source),
            epochs=epochs,
            generated_limit=generated_limit,
            embedding_model=embedder,
            cache_root=cache_dir,
            report_dev=evaluate,
            echo=typer.echo,
        )
    except (AmalgamError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
