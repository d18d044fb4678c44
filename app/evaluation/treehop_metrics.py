"""Recall of supporting passages per data set, for TreeHop and dense retrieval over the same index of passage
vectors (one passage = one vector): what TreeHop training and ``bench/treehop.py`` measure a model by."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from app.evaluation.treehop_data import Question
from app.evaluation.treehop_recipe import Corpus
from retrieval.index.faiss import FaissIndex
from retrieval.treehop.model import TreeHopModel
from retrieval.treehop.search import TreeHopRetriever
from retrieval.types import Query, Retriever, ScoredChunk

KS = (2, 5, 10)


class DenseRetriever:
    """Single-hop dense search over a FaissIndex: the baseline TreeHop is measured against."""

    name = "dense"

    def __init__(self, index: object) -> None:
        self.index = index

    def search(self, query: Query, k: int) -> list[ScoredChunk]:
        return self.index.search(query.embedding, k)  # type: ignore[attr-defined, no-any-return]


def recall(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    return len(set(retrieved[:k]) & set(gold)) / len(set(gold))


def recall_table(
    retriever: Retriever | Callable[[Query, int], list[ScoredChunk]],
    questions: Sequence[Question],
    vectors: np.ndarray,
    ks: Sequence[int] = KS,
) -> dict[str, dict[int, float]]:
    """``{dataset or "all": {k: mean recall@k}}`` in percent."""
    search = retriever.search if isinstance(retriever, Retriever) else retriever
    sums: dict[str, dict[int, float]] = defaultdict(lambda: dict.fromkeys(ks, 0.0))
    counts: dict[str, int] = defaultdict(int)
    for question, vector in zip(questions, vectors, strict=True):
        ids = [hit.chunk_id for hit in search(Query(question.question, vector), max(ks))]
        for group in (question.dataset, "all"):
            counts[group] += 1
            for k in ks:
                sums[group][k] += recall(ids, question.supporting_ids, k)
    return {g: {k: 100.0 * sums[g][k] / counts[g] for k in ks} for g in sorted(counts)}


class OracleModel(TreeHopModel):
    """The ceiling of the search and ranking scheme: from a gold passage, the next query is exactly the
    embedding of another gold passage (the one the question scores lowest, the likeliest to be missed);
    from any other passage it is the wrapped model's. Needs the gold passages, so it only measures."""

    def __init__(self, base: TreeHopModel) -> None:
        super().__init__(base.config)
        self.base = base
        self.gold = np.zeros((0, base.embed_dim), np.float32)

    def next_queries(self, q: np.ndarray, c: np.ndarray) -> np.ndarray:
        out = self.base.next_queries(q, c)
        for row in range(len(c)):
            is_gold = self.gold @ c[row] > 0.9999
            if is_gold.any() and len(self.gold) > 1:
                others = self.gold[~is_gold]
                out[row] = others[int(np.argmin(others @ q[row]))]
        return out


def oracle_recall_table(
    index: FaissIndex, base: TreeHopModel, questions: Sequence[Question], vectors: np.ndarray
) -> dict[str, dict[int, float]]:
    """Recall of TreeHop (default knobs) when every next query from a gold passage is ideal."""
    oracle = OracleModel(base)
    retriever = TreeHopRetriever(index, oracle)

    def search(query: Query, k: int) -> list[ScoredChunk]:
        question = by_text[query.text]
        oracle.gold = index.reconstruct(question.supporting_ids)
        return retriever.search(query, k)

    by_text = {q.question: q for q in questions}
    return recall_table(search, questions, vectors)


def corpus_index(corpus: Corpus) -> FaissIndex:
    """The whole corpus as the pool, one passage = one chunk."""
    index = FaissIndex(corpus.vectors.shape[1])
    index.add([p.id for p in corpus.passages], corpus.vectors)
    return index


def dev_recall_rows(
    corpus: Corpus, model: TreeHopModel, index: FaissIndex | None = None, split: str = "dev", **search: Any
) -> list[str]:
    """Markdown rows: recall@2/5/10 of dense and TreeHop per data set, same index, same questions."""
    index = index or corpus_index(corpus)
    questions, vectors = corpus.split(split)
    dense = recall_table(DenseRetriever(index), questions, vectors)
    tree = recall_table(TreeHopRetriever(index, model, **search), questions, vectors)
    return recall_rows(dense, tree)


def recall_rows(dense: dict[str, dict[int, float]], tree: dict[str, dict[int, float]]) -> list[str]:
    header = " | ".join(f"dense R@{k} | TreeHop R@{k}" for k in KS)
    rows = [f"| data set | {header} | Δ R@5 |", "|---" * (2 * len(KS) + 2) + "|"]
    for group in dense:
        cells = " | ".join(f"{dense[group][k]:.1f} | {tree[group][k]:.1f}" for k in KS)
        rows.append(f"| {group} | {cells} | {tree[group][5] - dense[group][5]:+.1f} |")
    return rows


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]
