"""Refitting the learned parts on the train split (never dev, never the hold-out), over the workspace the
product's ingest builds: ``tune-fusion`` (RRF weights), ``train-fusion`` (``retrieval/weights/learned-fusion.json``)
and ``tune-treehop`` (TreeHop's mention-query weights)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import ConfigError
from app.evaluation.datasets import Question
from app.evaluation.fusion_training import (
    CollectedQuestion,
    collect_candidates,
    featurise,
    fit,
    leave_one_out,
    recall_at_5,
    rrf_scorer,
    scored_by,
    two_fold,
)
from app.evaluation.multihop import Echo, EvalRun, open_eval
from app.evaluation.treehop_data import DEFAULT_CACHE_ROOT
from app.evaluation.tuning import QuestionRankings, collect_rankings, coordinate_search, recall_at
from app.runtime import limit_threads
from retrieval.fusion.learned import TRAINED_SIGNALS, model_features
from retrieval.fusion.rrf import FusionWeights
from retrieval.fusion.titles import TITLE_FEATURES
from retrieval.retriever import HybridRetriever

DEFAULT_FOLDS = DEFAULT_CACHE_ROOT / "treehop-folds"
TRAIN = "train"


def tune_fusion(
    dataset_dir: Path,
    *,
    split: str = TRAIN,
    limit_questions: int | None = None,
    treehop_folds: Path | None = None,
    torch_threads: int = 0,
    echo: Echo = print,
) -> FusionWeights:
    """Coordinate search of the hybrid fusion weights and RRF k on the train split; prints and returns the best.

    ``treehop_folds``: two passage-model TreeHops, each trained on one half of the train split, so every
    question gets its TreeHop signal from the model that never saw it (mention TreeHop needs none)."""
    _refuse_dev(split)
    limit_threads(torch_threads)
    run = open_eval(dataset_dir, split, limit_questions=limit_questions, echo=echo)
    try:
        retriever, to_passage = run.workspace.retriever, run.workspace.chunk_to_passage
        models = _fold_models(treehop_folds, retriever, dataset_dir, echo) if treehop_folds else []
        data = cross_fitted_rankings(retriever, run.questions, to_passage, models)
    finally:
        run.workspace.close()
    best, log = coordinate_search(data)
    echo("\n".join(log))
    for label, weights in (("defaults", FusionWeights()), ("tuned", best)):
        echo(f"{label}: {weights}")
        for bucket, by_k in recall_at(data, weights).items():
            echo(f"  {bucket}: R@5 {by_k[5]:.1f} R@10 {by_k[10]:.1f}")
    return best


def train_fusion(
    dataset_dir: Path,
    output: Path,
    *,
    signals: Sequence[str] = TRAINED_SIGNALS,
    treehop_folds: Path = DEFAULT_FOLDS,
    l2: float = 1e-4,
    limit_questions: int | None = None,
    torch_threads: int = 0,
    echo: Echo = print,
) -> dict[str, dict[str, float]]:
    """Fit the learned fusion over ``signals`` on the train split, print its 2-fold recall@5 next to RRF's
    and next to models without each signal in turn (on the same candidates), and save it to ``output``."""
    from app.evaluation.treehop_tuning import fold_of

    features = model_features(signals)  # an unknown signal fails here, before the retrieval
    limit_threads(torch_threads)
    run: EvalRun = open_eval(dataset_dir, TRAIN, limit_questions=limit_questions, echo=echo)
    try:
        retriever, to_passage = run.workspace.retriever, run.workspace.chunk_to_passage
        models = _fold_models(treehop_folds, retriever, dataset_dir, echo)

        def collect(mine: list[Question]) -> list[CollectedQuestion]:
            return collect_candidates(retriever, [(q.dataset, fold_of(q), q.question, q.supporting_ids) for q in mine])

        collected = cross_fitted(retriever, run.questions, models, collect)
        weights = retriever.weights
    finally:
        run.workspace.close()
    everything = featurise(collected, to_passage)
    chosen = featurise(collected, to_passage, signals)
    ablation = leave_one_out(collected, to_passage, l2=l2)
    rows = {
        "rrf (tuned weights)": recall_at_5(everything, scored_by(everything, rrf_scorer(weights))),
        **{f"learned, 2-fold, {label}": recall for label, recall in ablation.items()},
        f"learned, 2-fold, shipped ({', '.join(signals)})": two_fold(chosen, features=features, l2=l2),
        "learned, 2-fold, shipped without the title features": two_fold(
            chosen, features=[f for f in features if f not in TITLE_FEATURES], l2=l2
        ),
    }
    for label, recall in rows.items():
        echo(f"{label}: " + ", ".join(f"{bucket} R@5 {value:.2f}" for bucket, value in recall.items()))
    fit(chosen, features=features, l2=l2).save(output)
    echo(f"saved the model over {', '.join(signals)} fitted on all {len(chosen)} train questions to {output}")
    return rows


def tune_treehop(
    dataset_dir: Path,
    *,
    limit_questions: int | None = None,
    keep: int | None = None,
    torch_threads: int = 0,
    echo: Echo = print,
) -> list[tuple[float, ...]]:
    """Grid over TreeHop's mention queries (λ of normalize(m + λ·q)) and merged-ranking weights on the train
    split; prints the best settings by mean recall@5 over the 2-hop data sets, next to dense."""
    from app.evaluation.treehop_tuning import grid, recall_at, searched_by
    from retrieval.treehop.search import TreeHopRetriever

    limit_threads(torch_threads)
    run = open_eval(dataset_dir, TRAIN, limit_questions=limit_questions, echo=echo)
    try:
        retriever, to_passage = run.workspace.retriever, run.workspace.chunk_to_passage
        mentions = getattr(retriever.multihop, "mentions", None)
        if mentions is None:
            raise ConfigError("set AMALGAM_TREEHOP_CONTEXT=mentions: there is nothing to tune for model queries")
        vectors = retriever.embedder.embed([q.question for q in run.questions])
        dense = [_passages(retriever.indexes.dense.search(v, 50), to_passage) for v in vectors]
        offsets = tuple(np.round(np.arange(-1.0, -0.19, 0.05), 2))
        rows = []
        for mix, path_weight in itertools.product((0.5, 0.7, 1.0), (0.5, 0.75, 1.0)):
            tree = TreeHopRetriever(
                retriever.indexes.dense, mentions=mentions, keep=keep, mention_mix=mix, path_weight=path_weight
            )
            searched = searched_by(tree, run.questions, vectors, to_passage)
            for question_weight, offset, goal, table in grid(searched, path_weight, (0.0, 0.25), offsets):
                rows.append((goal, mix, path_weight, question_weight, offset, table))
    finally:
        run.workspace.close()
    echo("dense: " + _recalls(recall_at(searched, dense)))
    echo("best settings (λ, path_weight, question_weight, hop_offset):")
    best = sorted(rows, key=lambda row: -row[0])[:10]
    for goal, *knobs, table in best:
        echo(f"  {tuple(knobs)}: 2-hop mean {goal:.2f}; " + _recalls(table))
    return [tuple(row[:5]) for row in best]


def cross_fitted_rankings(
    retriever: HybridRetriever, questions: list[Question], to_passage: dict[str, str], models: list[Any]
) -> list[QuestionRankings]:
    """Rankings where each question's TreeHop signal comes from the fold model not trained on it."""

    def collect(mine: list[Question]) -> list[QuestionRankings]:
        return collect_rankings(retriever, [(q.dataset, q.question, q.supporting_ids) for q in mine], to_passage)

    return cross_fitted(retriever, questions, models, collect)


def cross_fitted(
    retriever: HybridRetriever, questions: list[Question], models: list[Any], collect: Callable[[list[Question]], list]
) -> list:
    """``collect`` run on each fold's questions while the retriever's TreeHop is the other fold's model.

    Without fold models (mention TreeHop, which no question trained) it searches as shipped."""
    from app.evaluation.treehop_tuning import fold_of
    from retrieval.treehop.search import TreeHopRetriever

    if not models or _mention_hops(retriever):
        return collect(questions)
    shipped, data = retriever.multihop, []
    try:
        for fold in (0, 1):
            retriever.multihop = TreeHopRetriever(retriever.indexes.dense, models[1 - fold])
            data += collect([q for q in questions if fold_of(q) == fold])
    finally:
        retriever.multihop = shipped
    return data


def _fold_models(folds_dir: Path, retriever: HybridRetriever, dataset_dir: Path, echo: Echo) -> list[Any]:
    """The two fold models saved in ``folds_dir``, trained (with the shipped recipe) when missing; none when
    the retriever's TreeHop makes mention queries (no model of it saw any question)."""
    from app.evaluation.treehop_data import cache_dir_for
    from app.evaluation.treehop_recipe import load_corpus
    from app.evaluation.treehop_tuning import fold_models
    from retrieval.treehop.model import TreeHopModel

    if _mention_hops(retriever):
        return []
    paths = [folds_dir / f"fold{fold}" for fold in (0, 1)]
    if all((path / "config.json").is_file() for path in paths):
        return [TreeHopModel.load(path) for path in paths]
    echo(f"training the two TreeHop fold models into {folds_dir} (a few minutes)")
    embedder: Any = retriever.embedder  # the configured SentenceTransformerEmbedder, which names its model
    cache = cache_dir_for(DEFAULT_CACHE_ROOT, embedder.model_name)
    corpus = load_corpus(dataset_dir, embedder, cache, embedder.model_name)
    models = fold_models(corpus, embedder, cache, embedder.model_name)
    for model, path in zip(models, paths, strict=True):
        model.save(path)
    return models


def _mention_hops(retriever: HybridRetriever) -> bool:
    """Whether the retriever's TreeHop makes next queries from mentions (no trained model: no folds needed)."""
    return getattr(retriever.multihop, "mentions", None) is not None


def _passages(hits: Sequence[Any], to_passage: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(to_passage.get(h.chunk_id, h.chunk_id) for h in hits))


def _recalls(table: dict[str, float]) -> str:
    return ", ".join(f"{group} R@5 {value:.1f}" for group, value in table.items())


def _refuse_dev(split: str) -> None:
    if split != TRAIN:
        raise ConfigError(f"tune on the train split, not {split!r}: dev and the hold-out are for reporting")
