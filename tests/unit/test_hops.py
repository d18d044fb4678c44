import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from graph.algorithms.hops import bounded_hop_distances


def test_a_path_graph_counts_hops_and_stops_at_the_limit() -> None:
    half = sp.coo_matrix((np.ones(5), ([0, 1, 2, 3, 4], [1, 2, 3, 4, 5])), shape=(6, 6))
    distances = bounded_hop_distances(sp.csr_matrix(half + half.T), [0, 3], limit=2)
    np.testing.assert_array_equal(distances[0], [0, 1, 2, np.inf, np.inf, np.inf])
    np.testing.assert_array_equal(distances[1], [np.inf, 2, 1, 0, 1, 2])


def test_edges_are_followed_in_their_direction() -> None:
    forward = sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 2])), shape=(3, 3))
    np.testing.assert_array_equal(bounded_hop_distances(forward, [2], limit=3)[0], [np.inf, np.inf, 0])
    np.testing.assert_array_equal(bounded_hop_distances(forward, [0], limit=3)[0], [0, 1, 2])


@pytest.mark.parametrize("seed", range(6))
def test_equal_to_scipys_search_within_the_limit_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    rows, cols = rng.integers(0, n, 600), rng.integers(0, n, 600)
    weights = rng.uniform(0.1, 3.0, 600)
    half = sp.coo_matrix((weights, (rows, cols)), shape=(n, n))
    adjacency = sp.csr_matrix(half + half.T) if seed % 2 else sp.csr_matrix(half)
    sources = sorted(set(rng.integers(0, n, 4).tolist()))
    limit = 3
    expected = shortest_path(adjacency, unweighted=True, indices=sources, directed=True)
    expected[expected > limit] = np.inf
    np.testing.assert_array_equal(bounded_hop_distances(adjacency, sources, limit), expected)


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        bounded_hop_distances(sp.csr_matrix((2, 2)), [0], limit=-1)
