"""Shared measurement helpers for ``bench/treehop.py`` and ``amalgam treehop train``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retrieval.index.faiss import FaissIndex
from retrieval.treehop.evaluate import KS, DenseRetriever, recall_table
from retrieval.treehop.model import TreeHopModel
from retrieval.treehop.recipe import Corpus
from retrieval.treehop.search import TreeHopRetriever


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
