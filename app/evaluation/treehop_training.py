"""``amalgam treehop train``: train the TreeHop query-update model with the shipped recipe (train split and/or
hops generated from the corpus, never dev), save it, and report dev recall next to dense."""

from __future__ import annotations

from pathlib import Path

from app.config import load_settings
from app.evaluation.multihop import Echo
from app.evaluation.treehop_data import cache_dir_for
from app.evaluation.treehop_recipe import SOURCES, TrainingRun, load_corpus, run_training
from app.evaluation.treehop_train import TrainConfig


def train_treehop(
    output: Path,
    data_dir: Path,
    *,
    sources: tuple[str, ...] = SOURCES,
    epochs: int | None = None,
    generated_limit: int | None = None,
    embedding_model: str | None = None,
    cache_root: Path,
    report_dev: bool = True,
    echo: Echo = print,
) -> TrainingRun:
    """TreeHop learns hops between passage vectors (one vector per passage, cached per embedder), so it
    trains on the data set's passages directly; no graph workspace is involved."""
    from app.evaluation.datasets import check_dataset_dir
    from app.evaluation.treehop_metrics import dev_recall_rows
    from retrieval.embeddings import SentenceTransformerEmbedder

    check_dataset_dir(data_dir)
    settings = load_settings()
    model_name = embedding_model or settings.embedding_model
    embedder = SentenceTransformerEmbedder(model_name, device=settings.device)
    cache = cache_dir_for(cache_root, model_name)
    corpus = load_corpus(data_dir, embedder, cache, model_name)
    run = run_training(
        corpus,
        embedder,
        cache,
        model_name,
        sources=sources,
        generated_limit=generated_limit,
        train_config=TrainConfig(epochs=epochs) if epochs else TrainConfig(),
    )
    run.model.save(output)
    echo(f"chains per source: {run.chains}; final loss {run.losses[-1]:.4f}; saved to {output}")
    if report_dev:
        for line in dev_recall_rows(corpus, run.model):
            echo(line)
    return run
