"""The embedded store's vector matrix: a large matrix answers one query through its half-precision copy, and
the answer is the exact one (same rows, same scores), before and after rows are replaced and appended."""

import numpy as np

from graph.store.embedded import top_k
from graph.store.embedded_vectors import HALF_PRECISION_FROM, VectorMatrix

DIM = 16


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def _exact_top(matrix: VectorMatrix, query: np.ndarray, k: int) -> list[str]:
    scores = matrix.matrix @ query
    return [matrix.ids[i] for i in top_k(scores, matrix.ids, k)]


def _through_candidates(matrix: VectorMatrix, query: np.ndarray, k: int) -> list[str] | None:
    rows = matrix.exact_candidates(query, k)
    if rows is None:
        return None
    scores = matrix.matrix[rows] @ query
    return [matrix.ids[rows[i]] for i in top_k(scores, [matrix.ids[r] for r in rows], k)]


def test_a_large_matrix_finds_the_exact_top_k_through_its_half_precision_copy() -> None:
    rng = np.random.default_rng(3)
    n = HALF_PRECISION_FROM + 500
    matrix = VectorMatrix([f"e{i:06d}" for i in range(n)], rng.standard_normal((n, DIM)))
    queries = _unit(rng.standard_normal((30, DIM)))
    for query in queries:
        assert _through_candidates(matrix, query, 5) == _exact_top(matrix, query, 5)
    # Replace rows (one becomes a copy of a query: it must come first) and append new ones after the copy exists.
    matrix.upsert(["e000007", "e000011"], np.stack([queries[0], rng.standard_normal(DIM)]))
    matrix.upsert([f"new{i}" for i in range(300)], np.vstack([queries[1:2], rng.standard_normal((299, DIM))]))
    for query in queries:
        assert _through_candidates(matrix, query, 5) == _exact_top(matrix, query, 5)
    assert _through_candidates(matrix, queries[0], 1) == ["e000007"]
    assert _through_candidates(matrix, queries[1], 1) == ["new0"]


def test_the_copy_steps_aside_where_it_cannot_guarantee_the_answer() -> None:
    rng = np.random.default_rng(5)
    small = VectorMatrix(["a", "b"], rng.standard_normal((2, DIM)))
    assert small.exact_candidates(_unit(rng.standard_normal(DIM)), 1) is None  # small: the plain product
    n = HALF_PRECISION_FROM + 100
    vectors = rng.standard_normal((n, DIM))
    query = _unit(rng.standard_normal(DIM))
    vectors[:200] = query + 1e-4 * rng.standard_normal((200, DIM))  # 200 rows as close as half precision can tell
    matrix = VectorMatrix([f"e{i:06d}" for i in range(n)], vectors)
    assert matrix.exact_candidates(query, 5) is None
