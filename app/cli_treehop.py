"""``amalgam treehop``: retrain the TreeHop query-update model, e.g. for another embedder."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.config import load_settings
from app.errors import AmalgamError
from retrieval.datasets import DEFAULT_DATASET
from retrieval.treehop.data import DEFAULT_CACHE_ROOT

treehop_app = typer.Typer(help="TreeHop multi-hop retrieval model.", no_args_is_help=True)
console = Console()


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
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from retrieval.embeddings import SentenceTransformerEmbedder
    from retrieval.treehop.data import cache_dir_for
    from retrieval.treehop.recipe import load_corpus, run_training
    from retrieval.treehop.train import TrainConfig

    try:
        settings = load_settings()
        model_name = embedder or settings.embedding_model
        embed = SentenceTransformerEmbedder(model_name, device=settings.device)
        cache = cache_dir_for(cache_dir, model_name)
        corpus = load_corpus(data_dir, embed, cache, model_name)
        run = run_training(
            corpus,
            embed,
            cache,
            model_name,
            sources=tuple(source),
            generated_limit=generated_limit,
            train_config=TrainConfig(epochs=epochs) if epochs else TrainConfig(),
        )
        run.model.save(output)
    except (AmalgamError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"chains per source: {run.chains}; final loss {run.losses[-1]:.4f}; saved to {output}")
    if evaluate:
        _print_dev_recall(corpus, run.model)


def _print_dev_recall(corpus: object, model: object) -> None:
    from retrieval.treehop.bench import dev_recall_rows

    for line in dev_recall_rows(corpus, model):  # type: ignore[arg-type]
        console.print(line)
