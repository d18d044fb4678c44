"""Blocking: the few candidate pairs worth scoring, found without comparing all pairs.

Nodes meet when they share a key, a rare token, a name prefix/suffix (catches one-word
misspellings), an acronym and its expansion, or are embedding nearest neighbours of each other.
Blocks larger than ``max_block`` (tokens like "john" or "river") are skipped: they carry no
identity and would make the cost quadratic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from graph.fusion.scoring import NodeView

Pair = tuple[int, int]


def _block_keys(view: NodeView) -> Iterable[str]:
    for compact in view.compact_keys:
        yield f"k:{compact}"
        if len(compact) >= 6:
            yield f"p:{compact[:4]}"
            yield f"s:{compact[-4:]}"
    for token in view.tokens:
        if len(token) >= 3 or token.isdigit():
            yield f"t:{token}"
    for letters in view.acronyms:
        yield f"a:{letters}"
    for letters in view.acronym_keys:
        yield f"a:{letters}"


def _pairs_in(members: list[int]) -> Iterable[Pair]:
    for i, left in enumerate(members):
        for right in members[i + 1 :]:
            yield (left, right) if left < right else (right, left)


def string_blocks(views: Sequence[NodeView], max_block: int = 25) -> set[Pair]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, view in enumerate(views):
        for key in set(_block_keys(view)):
            blocks[key].append(index)
    pairs: set[Pair] = set()
    for key, members in blocks.items():
        # Equal keys always meet (union-find makes a big equal-key block cheap to act on later).
        if len(members) < 2 or (len(members) > max_block and not key.startswith("k:")):
            continue
        if key.startswith("k:") and len(members) > max_block:
            pairs.update((members[0], other) for other in members[1:])  # a star is enough to connect
            continue
        pairs.update(_pairs_in(members))
    return pairs


def nearest_neighbour_pairs(vectors: np.ndarray, k: int = 5, min_similarity: float = 0.75) -> set[Pair]:
    """Pairs of rows whose cosine is among each other's top ``k`` and above ``min_similarity``.

    Rows must be L2-normalised. faiss does the search: exact for small sets, HNSW beyond 20k rows.
    """
    count = len(vectors)
    if count < 2:
        return set()
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    index: Any
    if count <= 20_000:
        index = faiss.IndexFlatIP(data.shape[1])
    else:
        index = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 64
    index.add(data)
    scores, neighbours = index.search(data, min(k + 1, count))
    pairs: set[Pair] = set()
    for row, (row_scores, row_neighbours) in enumerate(zip(scores, neighbours, strict=True)):
        for score, other in zip(row_scores, row_neighbours, strict=True):
            if other < 0 or other == row or score < min_similarity:
                continue
            pairs.add((row, int(other)) if row < other else (int(other), row))
    return pairs


def candidate_pairs(
    views: Sequence[NodeView],
    name_vectors: np.ndarray | None = None,
    *,
    max_block: int = 25,
    knn: int = 5,
    knn_min_similarity: float = 0.75,
) -> set[Pair]:
    """Every pair worth scoring: string blocks, plus embedding neighbours when vectors are given."""
    pairs = string_blocks(views, max_block)
    if name_vectors is not None and knn > 0:
        pairs |= nearest_neighbour_pairs(name_vectors, knn, knn_min_similarity)
    return pairs
