"""Shared fixtures: a throw-away Neo4j server, graph stores on both backends, the real embedder.

- ``neo4j_server`` (session): a local Neo4j started with docker/neo4j-local/start.sh, auth off, on
  port 7697 (another free port if 7697 is taken) under a temporary home, stopped at the end. Set
  ``AMALGAM_TEST_NEO4J_URI`` (and ``..._USER`` / ``..._PASSWORD``) to use a running server instead.
- ``graph_store_factory`` (parametrized over "embedded" and "neo4j"): ``factory(workspace=None)``
  opens a store on the test's backend; every store it opened is cleared and closed afterwards.
- ``graph_store``: a fresh store with a unique workspace, from that factory.
- ``embedder`` (session): ``retrieval.embeddings.SentenceTransformerEmbedder()``, offline.
Tests that need Neo4j carry ``@pytest.mark.neo4j`` (the "neo4j" store parameter has it already).
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from graph.store.base import GraphStore

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EMBEDDING_DIM = 384  # all-MiniLM-L6-v2; Neo4j vector indexes have one dimension per database
NEO4J_TEST_PORT = 7697


class Neo4jServer(NamedTuple):
    uri: str
    user: str
    password: str


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    uri = os.environ.get("AMALGAM_TEST_NEO4J_URI")
    if uri:
        yield Neo4jServer(
            uri,
            os.environ.get("AMALGAM_TEST_NEO4J_USER", "neo4j"),
            os.environ.get("AMALGAM_TEST_NEO4J_PASSWORD", ""),
        )
        return
    if shutil.which("java") is None:
        reason = "java is not installed, so the test Neo4j cannot start (or set AMALGAM_TEST_NEO4J_URI)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs Java; a skip there would hide a broken set-up
        pytest.skip(reason)
    from app import neo4j_local

    home = tmp_path_factory.mktemp("neo4j-home")
    # A concurrent test session may hold 7697; a second server on another port keeps both working.
    port = NEO4J_TEST_PORT if _port_free(NEO4J_TEST_PORT) else _free_port()
    try:
        yield Neo4jServer(*neo4j_local.start(home, port=port, auth=False))
    finally:
        neo4j_local.stop(home)


StoreFactory = Callable[..., GraphStore]


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def graph_store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    from graph.store.registry import open_store

    opened: list[GraphStore] = []

    def factory(workspace: str | None = None) -> GraphStore:
        workspace = workspace or f"t{uuid.uuid4().hex[:12]}"
        if request.param == "embedded":
            store = open_store(
                "embedded", path=tmp_path / "graph.sqlite", workspace=workspace, embedding_dim=EMBEDDING_DIM
            )
        else:
            server: Neo4jServer = request.getfixturevalue("neo4j_server")
            store = open_store(
                "neo4j",
                uri=server.uri,
                user=server.user,
                password=server.password,
                database="neo4j",
                workspace=workspace,
                embedding_dim=EMBEDDING_DIM,
            )
        opened.append(store)
        return store

    yield factory
    for store in opened:
        try:
            store.clear()
        finally:
            store.close()


@pytest.fixture
def graph_store(graph_store_factory: StoreFactory) -> GraphStore:
    return graph_store_factory()


@pytest.fixture(scope="session")
def embedder() -> object:
    from retrieval.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def pytest_configure(config: pytest.Config) -> None:
    # Declared here rather than in pyproject so the markers travel with the tests that use them.
    config.addinivalue_line("markers", "ray: runs on a real local Ray (ray.init(num_cpus=2)); needs the ray extra")
    config.addinivalue_line(
        "markers", "isolated: loads a native runtime (Ray's driver, llama.cpp) and runs in a pytest process of its own"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # In the full suite's process (dozens of models and servers loaded by then) the in-process Ray driver and
    # llama.cpp were followed by failures and a segfault (CI, 2026-12-02 and 2026-12-06) that do not happen
    # when their modules run alone. scripts/test.sh runs each isolated module in a process of its own; a run
    # that mixes them with other tests skips them with that advice instead of crashing.
    if "isolated" in (config.getoption("markexpr") or ""):
        return
    isolated = [item for item in items if "isolated" in item.keywords]
    if not isolated or len(isolated) == len(items):
        return
    skip = pytest.mark.skip(reason="runs in a process of its own: pytest -m isolated <module> (scripts/test.sh does)")
    for item in isolated:
        item.add_marker(skip)
