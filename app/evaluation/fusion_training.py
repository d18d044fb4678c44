"""Training the learned fusion on the train split (never dev), with a 2-fold estimate against RRF.

Each train question's candidates are featurised once (the same code path as at query time,
``HybridRetriever.candidates_of``); fitting the logistic model then takes a second. Recall is measured per
passage and macro-averaged over the datasets, as ``tune-fusion`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from retrieval.fusion.learned import (
    FEATURES,
    SIGNALS,
    Candidates,
    LearnedFusion,
    candidate_features,
    model_features,
)
from retrieval.fusion.rrf import FusionWeights
from retrieval.retriever import HybridRetriever


@dataclass
class FusionExample:
    """One question's candidates (as passage ids), their features (every column of ``FEATURES``) and which
    are gold."""

    dataset: str
    fold: int
    passages: list[str]
    features: np.ndarray
    gold: np.ndarray
    n_gold: int


@dataclass
class CollectedQuestion:
    """One question's candidates before featurising, so that features can be computed for any subset of
    the signals (what a model without one of them would have seen) without retrieving again."""

    dataset: str
    fold: int
    gold: list[str]
    candidates: Candidates


def collect_candidates(
    retriever: HybridRetriever, questions: Iterable[tuple[str, int, str, Sequence[str]]], *, depth: int = 50
) -> list[CollectedQuestion]:
    """Every signal's candidates for each ``(dataset, fold, question, gold passage ids)``, as ``rank`` sees them."""
    collected = []
    for dataset, fold, question, gold in questions:
        found = retriever.collect(question, mode="hybrid", depth=depth)
        collected.append(CollectedQuestion(dataset, fold, list(gold), retriever.candidates_of(found)))
    return collected


def featurise(
    collected: Sequence[CollectedQuestion], chunk_to_passage: dict[str, str], signals: Collection[str] = SIGNALS
) -> list[FusionExample]:
    """The examples as a model over ``signals`` sees them: the other signals' rankings are left out before the
    features are computed (they then neither add candidates nor count in the co-evidence features)."""
    out = []
    for item in collected:
        rankings = {name: hits for name, hits in item.candidates.rankings.items() if name in signals}
        chunk_ids, matrix = candidate_features(replace(item.candidates, rankings=rankings))
        passages = [chunk_to_passage.get(c, c) for c in chunk_ids]
        wanted = set(item.gold)
        labels = np.array([p in wanted for p in passages], dtype=bool)
        out.append(FusionExample(item.dataset, item.fold, passages, matrix, labels, len(item.gold)))
    return out


def collect_examples(
    retriever: HybridRetriever,
    questions: Iterable[tuple[str, int, str, Sequence[str]]],
    chunk_to_passage: dict[str, str],
    *,
    depth: int = 50,
) -> list[FusionExample]:
    """Featurise every ``(dataset, fold, question, gold passage ids)``'s candidates, as ``rank`` would."""
    return featurise(collect_candidates(retriever, questions, depth=depth), chunk_to_passage)


Scorer = Callable[[np.ndarray], np.ndarray]


def rrf_scorer(weights: FusionWeights) -> Scorer:
    """Weighted RRF recomputed from the features' ``<signal>.rrf`` columns (same ``rrf_k`` as the features)."""
    columns = [FEATURES.index(f"{signal}.rrf") for signal in SIGNALS]
    vector = np.array([getattr(weights, signal) for signal in SIGNALS])
    return lambda matrix: np.asarray(matrix[:, columns] @ vector)


def recall_at_5(examples: Sequence[FusionExample], scores: Sequence[np.ndarray]) -> dict[str, float]:
    """Recall@5 of gold passages per dataset and macro-averaged (key "macro"), in percent; ``scores[i]``
    scores ``examples[i]``'s candidates."""
    per: dict[str, list[float]] = {}
    for example, score in zip(examples, scores, strict=True):
        order = sorted(range(len(example.passages)), key=lambda i: (-float(score[i]), example.passages[i]))
        top = list(dict.fromkeys(example.passages[i] for i in order))[:5]
        gold = {p for p, is_gold in zip(example.passages, example.gold, strict=True) if is_gold}
        per.setdefault(example.dataset, []).append(len(gold & set(top)) / max(example.n_gold, 1))
    result = {dataset: 100 * float(np.mean(values)) for dataset, values in sorted(per.items())}
    result["macro"] = float(np.mean(list(result.values()))) if result else 0.0
    return result


def scored_by(examples: Sequence[FusionExample], scorer: Scorer) -> list[np.ndarray]:
    return [scorer(e.features) for e in examples]


def fit(examples: Sequence[FusionExample], *, features: Sequence[str] = FEATURES, l2: float = 1e-4) -> LearnedFusion:
    return fit_logistic([e.features for e in examples], [e.gold for e in examples], features=features, l2=l2)


def two_fold(
    examples: Sequence[FusionExample], *, features: Sequence[str] = FEATURES, l2: float = 1e-4
) -> dict[str, float]:
    """Recall@5 when each fold's questions are scored by a model fitted on the other fold only."""
    models = {fold: fit([e for e in examples if e.fold != fold], features=features, l2=l2) for fold in (0, 1)}
    return recall_at_5(examples, [models[e.fold].score(e.features) for e in examples])


def leave_one_out(
    collected: Sequence[CollectedQuestion], chunk_to_passage: dict[str, str], *, l2: float = 1e-4
) -> dict[str, dict[str, float]]:
    """The 2-fold recall@5 of a model over every signal, and of one without each signal in turn (what each
    signal adds, and so whether it is worth computing)."""
    rows = {"every signal": two_fold(featurise(collected, chunk_to_passage), l2=l2)}
    for signal in SIGNALS:
        kept = [name for name in SIGNALS if name != signal]
        examples = featurise(collected, chunk_to_passage, kept)
        rows[f"without {signal}"] = two_fold(examples, features=model_features(kept), l2=l2)
    return rows


def fit_logistic(
    matrices: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    features: Sequence[str] = FEATURES,
    l2: float = 1e-4,
) -> LearnedFusion:
    """L2-regularised logistic regression (L-BFGS in float64) over the standardised ``features`` columns of
    the matrices (every column of ``FEATURES``), one row per candidate."""
    import torch

    columns = [FEATURES.index(feature) for feature in features]
    x = np.vstack(matrices)[:, columns]
    y = np.concatenate(labels).astype(float)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    xt = torch.tensor((x - mean) / scale, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + l2 * (w * w).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return LearnedFusion(
        list(features), mean.tolist(), scale.tolist(), w.detach().numpy().tolist(), float(b.detach().item())
    )
