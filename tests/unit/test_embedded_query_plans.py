"""Reads of the embedded store that take a list of ids walk an index from that list.

SQLite's planner, given ``x IN (SELECT value FROM json_each(...)) OR y IN (...)``, may walk the whole workspace
instead: ``relations_between`` did, and cost 11 ms of every search on the full corpus (docs/benchmarks.md, item
11). This test asks SQLite for the plan of every such read and fails on a scan of a whole workspace.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from graph.store import embedded_queries as q
from graph.store.embedded import EmbeddedGraphStore

# Reads with an id list that still walk a whole workspace's communities, on purpose: every community is read at
# once (get_communities), and a delete marks the ancestors of the touched ones stale (a few thousand rows).
WHOLE_WORKSPACE = {"COMMUNITY_MEMBERS", "COMMUNITY_PARENTS", "MARK_STALE"}
# A plan line that touches every row of a workspace: a table scan, or an index searched by the workspace alone.
WHOLE_SCAN = re.compile(
    r"^(SCAN (?!j\b|json_each\b|found\b|hit\b)\w+|SEARCH \w+ USING (COVERING )?INDEX \S+ \(ws=\?\))$"
)


def _reads_with_id_lists() -> list[str]:
    names = []
    for name in dir(q):
        sql = getattr(q, name)
        if isinstance(sql, str) and "json_each" in sql and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            names.append(name)
    return sorted(set(names) - WHOLE_WORKSPACE)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("plans") / "graph.sqlite"
    EmbeddedGraphStore(path, workspace="w", embedding_dim=3).close()  # creates the schema
    return sqlite3.connect(path)


def test_the_check_finds_the_reads_it_guards() -> None:
    assert {"RELATIONS_BETWEEN", "RELATIONS_OF", "ENTITIES_MENTIONED_IN", "GET_CHUNKS"} <= set(_reads_with_id_lists())


@pytest.mark.parametrize("name", _reads_with_id_lists())
def test_read_walks_an_index_from_its_id_list(db: sqlite3.Connection, name: str) -> None:
    sql = getattr(q, name)
    params: dict[str, object] = {p: '["x"]' for p in re.findall(r":(\w+)", sql)}
    params.update({p: 1 for p in ("level", "n", "limit") if p in params})
    params["ws"] = "w"
    plan = [row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert not [line for line in plan if WHOLE_SCAN.match(line)], plan
