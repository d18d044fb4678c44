"""Routers by name. ``graph`` and ``combined`` need the workspace's graph store; ``centroid`` and
``combined`` the embedder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.errors import ConfigError, UnknownComponentError
from app.experts.registry import ExpertRegistry
from app.experts.router import Router
from graph.store.base import GraphStore
from ingest.embedder import Embedder


@dataclass(frozen=True)
class RouterContext:
    registry: ExpertRegistry
    embedder: Embedder | None = None
    store: GraphStore | None = None
    threshold: float = 0.55


def _centroid(context: RouterContext) -> Router:
    from app.experts.routers.centroid import CentroidRouter

    if context.embedder is None:
        raise ConfigError("the centroid router needs an embedder")
    return CentroidRouter(context.registry, context.embedder)


def _graph(context: RouterContext) -> Router:
    from app.experts.routers.graph import GraphRouter

    if context.store is None:
        raise ConfigError("the graph router needs the workspace's graph store")
    return GraphRouter(context.registry, context.store)


def _combined(context: RouterContext) -> Router:
    from app.experts.routers.combined import CombinedRouter

    parts = [_centroid(context)] + ([_graph(context)] if context.store is not None else [])
    return CombinedRouter(parts, context.threshold)


ROUTERS: dict[str, Callable[[RouterContext], Router]] = {"centroid": _centroid, "graph": _graph, "combined": _combined}
ROUTER_NAMES = tuple(ROUTERS)


def build_router(name: str, context: RouterContext) -> Router:
    builder = ROUTERS.get(name)
    if builder is None:
        raise UnknownComponentError("experts router", name, list(ROUTERS))
    return builder(context)
