"""Hop distances from a few source nodes, only as far as a caller looks.

The proximity signal scores chunks within ``2 * hops + 1`` steps of the question's entities and nothing
beyond. A full breadth-first search (scipy's ``shortest_path``) validates and copies the graph and walks all
of it for every source; a bounded search is ``limit`` sparse products of the frontier, one row per source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp


def bounded_hop_distances(adjacency: sp.spmatrix, sources: Sequence[int], limit: int) -> np.ndarray:
    """Edge counts from each source (rows) to every node (columns) along ``adjacency[i, j]`` (an edge
    i -> j wherever an entry is stored, as scipy's csgraph reads a sparse matrix); ``inf`` beyond ``limit``
    steps or out of reach. Equal to ``shortest_path(..., unweighted=True, indices=sources)`` wherever that
    is at most ``limit``."""
    n = adjacency.shape[0]
    if adjacency.shape != (n, n):
        raise ValueError(f"adjacency must be square, got {adjacency.shape}")
    if limit < 0:
        raise ValueError("limit must be at least 0")
    graph = sp.csr_matrix(adjacency)
    pattern = sp.csr_matrix((np.ones(len(graph.data), np.float32), graph.indices, graph.indptr), shape=(n, n))
    rows = np.arange(len(sources))
    distances = np.full((len(sources), n), np.inf)
    distances[rows, list(sources)] = 0.0
    frontier = np.zeros((len(sources), n), dtype=np.float32)
    frontier[rows, list(sources)] = 1.0
    reached = frontier > 0
    for step in range(1, limit + 1):
        new = np.asarray(frontier @ pattern) > 0  # nodes one edge beyond the frontier
        new &= ~reached
        if not new.any():
            break
        distances[new] = step
        reached |= new
        frontier = new.astype(np.float32)
    return distances
