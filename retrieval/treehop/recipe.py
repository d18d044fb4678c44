"""The end-to-end training recipe behind ``amalgam treehop train``: data -> embeddings -> chains -> model.

Sources: ``train`` (the labelled train split) and/or ``generated`` (hops generated from the corpus, never
touching a dev question's gold passages). Embeddings are cached per embedder under ``cache_dir``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.embedder import Embedder
from retrieval.treehop.data import (
    Passage,
    Question,
    cached_embeddings,
    corpus_embeddings,
    load_passages,
    load_questions,
    question_embeddings,
)
from retrieval.treehop.hops import Chain, generated_chains, question_chains
from retrieval.treehop.model import TreeHopConfig, TreeHopModel
from retrieval.treehop.train import TrainConfig, tensorize, train

log = logging.getLogger(__name__)
SOURCES = ("train", "generated")


@dataclass
class Corpus:
    passages: list[Passage]
    vectors: np.ndarray
    questions: list[Question]
    question_vectors: np.ndarray

    @property
    def row_of(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.passages)}

    def split(self, name: str) -> tuple[list[Question], np.ndarray]:
        rows = [i for i, q in enumerate(self.questions) if q.split == name]
        return [self.questions[i] for i in rows], self.question_vectors[rows]


@dataclass
class TrainingRun:
    model: TreeHopModel
    losses: list[float]
    chains: dict[str, int] = field(default_factory=dict)  # source -> number of chains used


def load_corpus(data_dir: Path, embedder: Embedder, cache_dir: Path, model_name: str) -> Corpus:
    passages, questions = load_passages(data_dir), load_questions(data_dir)
    return Corpus(
        passages,
        corpus_embeddings(passages, embedder, cache_dir, model_name),
        questions,
        question_embeddings(questions, embedder, cache_dir, model_name),
    )


def build_chains(corpus: Corpus, sources: tuple[str, ...], generated_limit: int) -> dict[str, list[Chain]]:
    unknown = set(sources) - set(SOURCES)
    if unknown or not sources:
        raise ValueError(f"training sources must be some of {SOURCES}, got {sources}")
    chains: dict[str, list[Chain]] = {}
    if "train" in sources:
        chains["train"] = question_chains(corpus.split("train")[0])
    if "generated" in sources:
        # Conservative: no generated hop touches a dev question's gold passage.
        dev_gold = {s for q in corpus.split("dev")[0] for s in q.supporting_ids}
        chains["generated"] = generated_chains(corpus.passages, exclude=dev_gold, limit=generated_limit)
    return chains


def run_training(
    corpus: Corpus,
    embedder: Embedder,
    cache_dir: Path,
    model_name: str,
    *,
    sources: tuple[str, ...] = SOURCES,
    generated_limit: int = 4000,
    train_config: TrainConfig | None = None,
    model_config: TreeHopConfig | None = None,
) -> TrainingRun:
    train_config = train_config or TrainConfig()
    by_source = build_chains(corpus, sources, generated_limit)
    chains = [c for source_chains in by_source.values() for c in source_chains]
    texts = list(dict.fromkeys(c.question for c in chains))
    vectors = cached_embeddings(
        cache_dir / f"chain-questions-{'+'.join(sorted(sources))}-{generated_limit}.npz",
        texts,  # the texts themselves key the cache
        texts,
        embedder.embed,
        model_name,
    )
    row = {t: i for i, t in enumerate(texts)}
    chain_vectors = vectors[[row[c.question] for c in chains]]
    tensors = tensorize(chains, chain_vectors, corpus.vectors, corpus.row_of, train_config)
    config = model_config or TreeHopConfig(embed_dim=corpus.vectors.shape[1], embedder=model_name)
    model, losses = train(tensors, corpus.vectors, train_config, config)
    model.config.training = {
        "sources": list(sources),
        "chains": {s: len(c) for s, c in by_source.items()},
        "epochs": train_config.epochs,
        "temperature": train_config.temperature,
        "hard_negatives": train_config.hard_negatives,
        "final_loss": round(losses[-1], 4) if losses else None,
    }
    return TrainingRun(model, losses, {s: len(c) for s, c in by_source.items()})
