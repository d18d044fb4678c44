"""Graph stores by name: ``open_store("embedded" | "neo4j", **kwargs)``.

To add a backend, implement ``graph.store.base.GraphStore`` in one module and add a loader here;
backends are imported lazily so the embedded store never needs the Neo4j driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph.store.base import GraphStore
from ingest.errors import UnknownComponentError


def _embedded(**kwargs: Any) -> GraphStore:
    from graph.store.embedded import EmbeddedGraphStore

    return EmbeddedGraphStore(**kwargs)


def _neo4j(**kwargs: Any) -> GraphStore:
    from graph.store.neo4j import Neo4jGraphStore

    return Neo4jGraphStore(**kwargs)


STORES: dict[str, Callable[..., GraphStore]] = {"embedded": _embedded, "neo4j": _neo4j}


def open_store(backend: str, **kwargs: Any) -> GraphStore:
    """Open the named store; kwargs are its constructor's (see each backend's ``__init__``)."""
    try:
        factory = STORES[backend]
    except KeyError:
        raise UnknownComponentError("graph store", backend, list(STORES)) from None
    return factory(**kwargs)
