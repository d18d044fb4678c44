import numpy as np
import pytest
import scipy.sparse as sp

from graph.algorithms.fastrp import fastrp
from graph.algorithms.ppr import personalized_pagerank, transition_matrix


def _path_graph(n: int) -> sp.csr_matrix:
    rows = list(range(n - 1))
    half = sp.coo_matrix((np.ones(n - 1), (rows, [r + 1 for r in rows])), shape=(n, n))
    return sp.csr_matrix(half + half.T)


def test_ppr_matches_the_closed_form_on_a_graph_without_dangling_nodes() -> None:
    adjacency = _path_graph(5) + sp.csr_matrix(np.diag([0, 0, 0, 0, 0]))
    restart = np.array([1.0, 0, 0, 0, 0])
    damping = 0.5
    rank = personalized_pagerank(adjacency, restart, damping=damping, tol=1e-12)
    transition = transition_matrix(adjacency).toarray()
    expected = (1 - damping) * np.linalg.solve(np.eye(5) - damping * transition, restart)
    np.testing.assert_allclose(rank, expected, atol=1e-9)


def test_ppr_mass_falls_with_distance_from_the_seed_and_sums_to_one() -> None:
    rank = personalized_pagerank(_path_graph(6), np.array([1.0, 0, 0, 0, 0, 0]))
    assert rank.sum() == pytest.approx(1.0)
    assert all(rank[i] > rank[i + 1] for i in range(1, 5))
    assert rank.argmax() == 0


def test_ppr_keeps_mass_that_reaches_a_dangling_node() -> None:
    # 0 -> 1, node 1 has no out-edge: its mass must go back to the seed, not vanish.
    directed = sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]]))
    rank = personalized_pagerank(directed, np.array([1.0, 0.0]))
    assert rank.sum() == pytest.approx(1.0)
    assert rank[1] > 0


def test_ppr_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        personalized_pagerank(_path_graph(3), np.zeros(3))
    with pytest.raises(ValueError):
        personalized_pagerank(_path_graph(3), np.ones(4))
    with pytest.raises(ValueError):
        personalized_pagerank(_path_graph(3), np.ones(3), damping=1.0)


def _star(leaves: int) -> sp.csr_matrix:
    n = leaves + 1
    half = sp.coo_matrix((np.ones(leaves), ([0] * leaves, list(range(1, n)))), shape=(n, n))
    return sp.csr_matrix(half + half.T)


def test_fastrp_puts_nodes_with_the_same_role_together() -> None:
    # Two stars joined centre to centre: every leaf plays the same role, the centres another one.
    a, b = _star(4), _star(4)
    adjacency = sp.lil_matrix(sp.block_diag([a, b]))
    adjacency[0, 5] = adjacency[5, 0] = 1.0
    embedding = fastrp(sp.csr_matrix(adjacency), dim=32, seed=3)
    assert embedding.shape == (10, 32)
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-6)
    leaf_leaf = embedding[1] @ embedding[2]
    leaf_centre = embedding[1] @ embedding[0]
    assert leaf_leaf > 0.99
    assert leaf_leaf > leaf_centre


def test_fastrp_is_deterministic_for_a_seed() -> None:
    graph = _path_graph(8)
    np.testing.assert_array_equal(fastrp(graph, seed=1), fastrp(graph, seed=1))
    assert fastrp(sp.csr_matrix((0, 0)), dim=8).shape == (0, 8)
