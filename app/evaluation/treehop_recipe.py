"""The end-to-end training recipe behind ``amalgam treehop train``: data -> embeddings -> chains -> model.

Sources: ``train`` (the labelled train split) and/or ``generated`` (hops generated from the corpus, never
touching a dev question's gold passages). Embeddings are cached per embedder under ``cache_dir``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.evaluation.treehop_data import (
    Passage,
    Question,
    cached_embeddings,
    corpus_embeddings,
    load_passages,
    load_questions,
    question_embeddings,
)
from app.evaluation.treehop_hops import Chain, generated_chains, question_chains
from app.evaluation.treehop_train import TrainConfig, tensorize, train
from ingest.embedder import Embedder
from retrieval.treehop.model import TreeHopConfig, TreeHopModel

log = logging.getLogger(__name__)
SOURCES = ("train", "generated")


# The model the recipe trains, chosen on the train split (2-fold; see the leak note in
# docs/bench-treehop.md): the concat MLP update with one 2048-wide hidden layer and learned q/c
# weights. (The paper's gate scored 2-4 points lower there.)
def recipe_model_config(embed_dim: int, embedder: str) -> TreeHopConfig:
    return TreeHopConfig(
        embed_dim=embed_dim, embedder=embedder, update="concat", gate_dim=2048, mlp_blocks=1, learned_mix=True
    )


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


@dataclass(frozen=True)
class GeneratedHops:
    """How many hops to generate from the corpus (see ``hops.generated_chains``). More generated hops was
    the largest gain on the train split: 4,000 -> ~10,000 (2 questions per link, titles named by up to
    100 passages) added ~3 points of recall@5 (docs/bench-treehop.md)."""

    limit: int = 20_000
    per_link: int = 2
    max_mentions: int = 100

    @property
    def cache_name(self) -> str:
        if (self.per_link, self.max_mentions) == (1, 30):  # the first recipe's cache files stay valid
            return f"chain-questions-generated-{self.limit}.npz"
        return f"chain-questions-generated-{self.limit}-x{self.per_link}-m{self.max_mentions}.npz"


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


def build_chains(
    corpus: Corpus,
    sources: tuple[str, ...],
    generated: GeneratedHops,
    keep_question: Callable[[Question], bool] | None = None,
) -> dict[str, list[Chain]]:
    """Chains per source; ``keep_question`` picks a subset of the train questions (2-fold tuning)."""
    unknown = set(sources) - set(SOURCES)
    if unknown or not sources:
        raise ValueError(f"training sources must be some of {SOURCES}, got {sources}")
    chains: dict[str, list[Chain]] = {}
    if "train" in sources:
        train_questions = [q for q in corpus.split("train")[0] if keep_question is None or keep_question(q)]
        chains["train"] = question_chains(train_questions)
    if "generated" in sources:
        # Conservative: no generated hop touches a dev question's gold passage.
        dev_gold = {s for q in corpus.split("dev")[0] for s in q.supporting_ids}
        chains["generated"] = generated_chains(
            corpus.passages,
            exclude=dev_gold,
            limit=generated.limit,
            per_link=generated.per_link,
            max_mentions=generated.max_mentions,
        )
    return chains


def chain_vectors(
    corpus: Corpus,
    by_source: dict[str, list[Chain]],
    embedder: Embedder,
    cache_dir: Path,
    model_name: str,
    generated_hops: GeneratedHops,
) -> np.ndarray:
    """Question vectors of the chains, in order: labelled chains reuse their question's cached vector;
    generated ones are embedded once per setting and cached (their texts key the cache)."""
    by_text = {q.question: v for q, v in zip(corpus.questions, corpus.question_vectors, strict=True)}
    generated = list(dict.fromkeys(c.question for c in by_source.get("generated", [])))
    if generated:
        vectors = cached_embeddings(
            cache_dir / generated_hops.cache_name, generated, generated, embedder.embed, model_name
        )
        by_text.update(zip(generated, vectors, strict=True))
    chains = [c for source_chains in by_source.values() for c in source_chains]
    dim = corpus.question_vectors.shape[1]
    return np.stack([by_text[c.question] for c in chains]) if chains else np.zeros((0, dim), np.float32)


def run_training(
    corpus: Corpus,
    embedder: Embedder,
    cache_dir: Path,
    model_name: str,
    *,
    sources: tuple[str, ...] = SOURCES,
    generated_limit: int | None = None,  # overrides generated.limit
    train_config: TrainConfig | None = None,
    model_config: TreeHopConfig | None = None,
    keep_question: Callable[[Question], bool] | None = None,
    generated: GeneratedHops | None = None,
    held_out: frozenset[str] = frozenset(),
) -> TrainingRun:
    """``held_out``: passages no generated hop may touch, beyond the dev gold ones (2-fold tuning holds out
    the other half's gold passages: a generated hop between them is that question's own bridge)."""
    train_config = train_config or TrainConfig()
    generated = generated or GeneratedHops()
    if generated_limit is not None:
        generated = replace(generated, limit=generated_limit)
    by_source = build_chains(corpus, sources, generated, keep_question)
    chains = [c for source_chains in by_source.values() for c in source_chains]
    vectors = chain_vectors(corpus, by_source, embedder, cache_dir, model_name, generated)
    if held_out:  # filtered after embedding, so the cached vectors of all generated hops still serve
        keep = [not held_out.intersection(c.gold) for c in chains]
        chains, vectors = [c for c, k in zip(chains, keep, strict=True) if k], vectors[np.array(keep, bool)]
        by_source = {s: [c for c in cs if not held_out.intersection(c.gold)] for s, cs in by_source.items()}
    tensors = tensorize(chains, vectors, corpus.vectors, corpus.row_of, train_config)
    config = model_config or recipe_model_config(corpus.vectors.shape[1], model_name)
    model, losses = train(tensors, corpus.vectors, train_config, config)
    model.config.training = {
        "sources": list(sources),
        "chains": {s: len(c) for s, c in by_source.items()},
        "generated": {"per_link": generated.per_link, "max_mentions": generated.max_mentions},
        "epochs": train_config.epochs,
        "objective": train_config.objective,
        "lr": train_config.lr,
        "temperature": train_config.temperature,
        "hard_negatives": train_config.hard_negatives,
        "final_loss": round(losses[-1], 4) if losses else None,
    }
    return TrainingRun(model, losses, {s: len(c) for s, c in by_source.items()})
