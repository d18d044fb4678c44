"""Choosing the merged ranking's weights on the train split, never on dev: 2-fold cross-fitting.

The train questions are split in two halves by a hash of their id. A model trained on one half (plus the
generated hops) searches the other half's questions, so every scored question is unseen by the model that
searched it, as a dev question is by the shipped model. The search's layers are computed once per
question; each weight setting then only re-scores them (``search.merge``).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from app.evaluation.treehop_data import Question
from app.evaluation.treehop_metrics import recall
from app.evaluation.treehop_recipe import Corpus, run_training
from app.evaluation.treehop_train import TrainConfig
from ingest.embedder import Embedder
from retrieval.index.faiss import FaissIndex
from retrieval.treehop.model import TreeHopModel
from retrieval.treehop.search import Hit, TreeHopRetriever, interleave, later_hop_question_scores, merge

GOAL_SETS = ("2wikimultihopqa", "hotpotqa")  # the objective: mean recall@5 over the 2-hop data sets


def fold_of(question: Question) -> int:
    """0 or 1, stable across runs and machines."""
    return int(hashlib.md5(question.id.encode()).hexdigest(), 16) % 2


@dataclass
class Searched:
    """One train question as searched by the model that did not see it."""

    question: Question
    embedding: np.ndarray
    layers: list[list[Hit]]
    to_question: dict[str, float]  # s(q, p) of every later-hop passage


def fold_models(
    corpus: Corpus, embedder: Embedder, cache_dir: Path, model_name: str, train_config: TrainConfig | None = None
) -> list[TreeHopModel]:
    """Model ``f`` is trained on the train questions of fold ``f`` plus the generated hops that touch no
    gold passage of the other fold."""
    models = []
    for fold in (0, 1):

        def in_fold(question: Question, fold: int = fold) -> bool:
            return fold_of(question) == fold

        # The other half's gold passages are held out of the generated hops too: a generated hop between
        # them would be that question's own bridge, and tuning on it overrates later hops (it did: +11
        # points on train, -3 on dev before this was held out).
        held_out = frozenset(s for q in corpus.split("train")[0] if not in_fold(q) for s in q.supporting_ids)
        run = run_training(
            corpus,
            embedder,
            cache_dir,
            model_name,
            train_config=train_config,
            keep_question=in_fold,
            held_out=held_out,
        )
        models.append(run.model)
    return models


def cross_fit(corpus: Corpus, index: FaissIndex, models: Sequence[TreeHopModel], path_weight: float) -> list[Searched]:
    """Every train question searched by the fold model that did not see it."""
    questions, vectors = corpus.split("train")
    retrievers = [TreeHopRetriever(index, model, path_weight=path_weight) for model in models]
    return [
        _searched(retrievers[1 - fold_of(question)], question, vector)
        for question, vector in zip(questions, vectors, strict=True)
    ]


def searched_by(
    retriever: TreeHopRetriever,
    questions: Sequence[Question],
    vectors: np.ndarray,
    to_passage: dict[str, str] | None = None,
) -> list[Searched]:
    """Every question searched by ``retriever`` (no model trained on them: mention queries), hits named by
    passage id through ``to_passage`` when chunk ids differ (the eval workspace)."""
    return [_searched(retriever, q, v, to_passage) for q, v in zip(questions, vectors, strict=True)]


def _searched(
    retriever: TreeHopRetriever, question: Question, vector: np.ndarray, to_passage: dict[str, str] | None = None
) -> Searched:
    """One question's layers and later-hop ``s(q, p)``, chunk ids renamed through ``to_passage`` if given."""
    layers = retriever.search_layers(vector)
    to_question = later_hop_question_scores(retriever.index, layers, vector)
    if not to_passage:
        return Searched(question, vector, layers, to_question)

    def named(chunk_id: str) -> str:
        return to_passage.get(chunk_id, chunk_id)

    return Searched(
        question,
        vector,
        [[replace(hit, chunk_id=named(hit.chunk_id)) for hit in layer] for layer in layers],
        {named(chunk_id): score for chunk_id, score in to_question.items()},
    )


def recall_at(searched: Sequence[Searched], ranked: Iterable[list[str]], k: int = 5) -> dict[str, float]:
    """Mean recall@k in percent per data set and overall."""
    sums: dict[str, list[float]] = {}
    for item, ids in zip(searched, ranked, strict=True):
        value = recall(ids, item.question.supporting_ids, k)
        for group in (item.question.dataset, "all"):
            sums.setdefault(group, []).append(value)
    return {g: 100.0 * float(np.mean(v)) for g, v in sorted(sums.items())}


def objective(table: dict[str, float]) -> float:
    return float(np.mean([table[g] for g in GOAL_SETS if g in table]))


def grid(
    searched: Sequence[Searched],
    path_weight: float,
    question_weights: Sequence[float] = (0.0, 1.0, 1.5, 2.0, 3.0),
    offsets: Sequence[float] = tuple(np.round(np.arange(-1.6, 0.01, 0.1), 2)),
) -> list[tuple[float, float, float, dict[str, float]]]:
    """``(question_weight, hop_offset, objective, recall@5 table)`` for every setting, best first."""
    rows = []
    for question_weight, offset in itertools.product(question_weights, offsets):
        ranked = [
            [c.chunk_id for c in merge(s.layers, s.to_question, path_weight, question_weight, offset)] for s in searched
        ]
        table = recall_at(searched, ranked)
        rows.append((question_weight, float(offset), objective(table), table))
    return sorted(rows, key=lambda row: -row[2])


def baselines(searched: Sequence[Searched], index: FaissIndex) -> dict[str, dict[str, float]]:
    """Dense-only and the old interleave rule (lead 3) on the same questions."""
    dense = [[c.chunk_id for c in index.search(s.embedding, 10)] for s in searched]
    lead3 = [[h.chunk_id for h in interleave(_pruned(s.layers), lead=3)] for s in searched]
    return {"dense only": recall_at(searched, dense), "interleave, lead 3": recall_at(searched, lead3)}


def _pruned(layers: list[list[Hit]]) -> list[list[Hit]]:
    """The layers as redundancy pruning would leave them: each passage in its first layer only."""
    seen: set[str] = set()
    out = []
    for layer in layers:
        out.append([h for h in layer if h.chunk_id not in seen])
        seen.update(h.chunk_id for h in layer)
    return out
