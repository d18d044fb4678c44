"""Tuning the hybrid fusion (signal weights and the RRF offset) on the train split, never on dev.

Each question's signal rankings are computed once; a configuration is then scored by fusing them again,
which takes milliseconds, so a coordinate search over weights and ``rrf_k`` costs seconds. The objective
is recall@5 macro-averaged over the datasets (train is 5/7 2Wiki; dev is balanced), recall@10 breaks ties.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from retrieval.fusion.rrf import FusionWeights
from retrieval.modes import MODES
from retrieval.retriever import HybridRetriever

SIGNALS = MODES["hybrid"].signals
WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
RRF_K_GRID = (5, 10, 20, 30, 60, 100)


@dataclass
class QuestionRankings:
    """Per question: the candidate passages, their rank in each signal (0 = not ranked) and which are gold."""

    dataset: str
    candidates: list[str]
    ranks: np.ndarray  # (n_candidates, n_signals), 1-based ranks, 0 where the signal did not rank it
    gold: np.ndarray  # (n_candidates,) bool
    n_gold: int


def collect_rankings(
    retriever: HybridRetriever,
    questions: Iterable[tuple[str, str, Sequence[str]]],
    chunk_to_passage: dict[str, str],
    *,
    depth: int = 50,
) -> list[QuestionRankings]:
    """Run every hybrid signal once per ``(dataset, question, gold passage ids)``."""
    out = []
    for dataset, question, gold in questions:
        rankings = retriever.collect(question, mode="hybrid", depth=depth).rankings
        candidates: dict[str, int] = {}
        ranks: list[dict[int, int]] = []
        for column, signal in enumerate(SIGNALS):
            seen: set[str] = set()
            for hit in rankings[signal].hits if signal in rankings else ():
                passage = chunk_to_passage.get(hit.chunk_id, hit.chunk_id)
                if passage in seen:
                    continue
                seen.add(passage)
                row = candidates.setdefault(passage, len(candidates))
                if row == len(ranks):
                    ranks.append({})
                ranks[row][column] = len(seen)
        matrix = np.zeros((len(candidates), len(SIGNALS)))
        for row, by_signal in enumerate(ranks):
            for column, rank in by_signal.items():
                matrix[row, column] = rank
        names = list(candidates)
        out.append(QuestionRankings(dataset, names, matrix, np.array([n in set(gold) for n in names]), len(gold)))
    return out


def recall_at(data: list[QuestionRankings], weights: FusionWeights, ks: Sequence[int] = (5, 10)) -> dict:
    """Recall@k per dataset and macro-averaged (key "macro"), in percent, for one configuration."""
    vector = np.array([getattr(weights, s) for s in SIGNALS])
    per: dict[str, dict[int, list[float]]] = {}
    for q in data:
        gains = np.where(q.ranks > 0, 1.0 / (weights.rrf_k + q.ranks), 0.0) @ vector
        # Ties by candidate id, as weighted_rrf breaks them.
        order = sorted(range(len(q.candidates)), key=lambda i: (-round(float(gains[i]), 12), q.candidates[i]))
        order = [i for i in order if gains[i] > 0]
        bucket = per.setdefault(q.dataset, {k: [] for k in ks})
        for k in ks:
            bucket[k].append(float(q.gold[order[:k]].sum()) / max(q.n_gold, 1))
    result: dict = {d: {k: 100 * float(np.mean(v)) for k, v in by_k.items()} for d, by_k in sorted(per.items())}
    result["macro"] = {k: float(np.mean([result[d][k] for d in per])) for k in ks}
    return result


def _objective(data: list[QuestionRankings], weights: FusionWeights) -> tuple[float, float]:
    macro = recall_at(data, weights)["macro"]
    return macro[5], macro[10]


def coordinate_search(
    data: list[QuestionRankings], start: FusionWeights | None = None, rounds: int = 3
) -> tuple[FusionWeights, list[str]]:
    """Greedy coordinate ascent: each weight (dense fixed at 1, RRF is scale-free) and rrf_k in turn over
    its grid, kept when the objective strictly improves; stops after a round without change."""
    best = start or FusionWeights()
    best_score = _objective(data, best)
    log = [f"start {best} -> R@5 {best_score[0]:.2f} R@10 {best_score[1]:.2f}"]
    names = [f.name for f in fields(FusionWeights) if f.name != "dense"]
    for round_no in range(rounds):
        changed = False
        for name in names:
            grid = RRF_K_GRID if name == "rrf_k" else WEIGHT_GRID
            for value in grid:
                candidate = replace(best)
                setattr(candidate, name, value)
                score = _objective(data, candidate)
                if score > best_score:
                    best, best_score, changed = candidate, score, True
            log.append(f"round {round_no + 1} {name}: {best} -> R@5 {best_score[0]:.2f} R@10 {best_score[1]:.2f}")
        if not changed:
            break
    return best, log
