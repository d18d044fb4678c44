"""The entity–chunk graph the graph retriever ranks over, built from one subgraph read."""

from __future__ import annotations

import numpy as np

from graph.store.base import Subgraph
from retrieval.graph import build_graph


def test_mentions_weigh_one_relations_log_evidence_and_edges_are_undirected() -> None:
    subgraph = Subgraph(
        entity_ids=["paris", "france", "curie"],
        chunk_ids=["c1", "c2"],
        mentions=[("c1", "paris"), ("c1", "france"), ("c2", "curie"), ("c2", "paris")],
        relations=[("paris", "france", 3.0), ("curie", "paris", 0.0)],
    )
    graph = build_graph(subgraph)
    assert graph.nodes == ["paris", "france", "curie", "c1", "c2"] and graph.n_entities == 3
    expected = np.zeros((5, 5))
    for a, b, w in [(3, 0, 1), (3, 1, 1), (4, 2, 1), (4, 0, 1), (0, 1, np.log(4.0)), (2, 0, 1.0)]:
        expected[a, b] = expected[b, a] = w
    np.testing.assert_allclose(graph.adjacency.toarray(), expected)


def test_unknown_ids_and_self_relations_are_dropped_and_repeated_edges_add_up() -> None:
    subgraph = Subgraph(
        entity_ids=["a", "b", "a"],
        chunk_ids=["c"],
        mentions=[("c", "a"), ("c", "a"), ("c", "ghost"), ("gone", "b")],
        relations=[("a", "a", 5.0), ("a", "ghost", 2.0), ("b", "a", 1.0)],
    )
    graph = build_graph(subgraph)
    assert graph.nodes == ["a", "b", "c"]
    dense = graph.adjacency.toarray()
    assert dense[2, 0] == dense[0, 2] == 2.0  # the same mention read twice
    assert dense[0, 1] == dense[1, 0] == np.log(2.0)
    assert dense[0, 0] == 0.0 and dense.sum() == 2 * (2.0 + np.log(2.0))


def test_an_empty_subgraph_gives_an_empty_graph() -> None:
    graph = build_graph(Subgraph())
    assert graph.nodes == [] and graph.adjacency.shape == (0, 0) and graph.adjacency.nnz == 0
