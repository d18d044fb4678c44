"""Two processes writing one workspace: a server's engine and an ``amalgam ingest`` in another terminal.

Each process keeps the search indexes in memory and saves them whole. Before the workspace's write lock,
the engine's next save dropped the CLI's chunks from FAISS and BM25: they stayed in the store, marked
done (so a re-ingest called them unchanged), and no search could find them; the engine's retriever did
not see them either until a restart. Real processes, real files, the embedded store.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.api.main import create_app
from app.config import Settings, load_settings
from app.engine import Engine, workspace_write_lock
from app.services import open_store
from tests.e2e.conftest import serving

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
OBSERVATORY = (
    "The Quillfeather Observatory stands on Mount Varnholt. It was founded in 1911 by the astronomer "
    "Edda Lindqvist, who catalogued the comets of the northern sky from its dome."
)


def _settings(data_dir: Path, **store: str) -> Settings:
    return load_settings(data_dir=data_dir, chunker="sentence", **store)


def _store_env(settings: Settings) -> dict[str, str]:
    """The environment that points a CLI process at the same store as ``settings``."""
    if settings.graph_backend == "embedded":
        return {}
    return {
        "AMALGAM_GRAPH_BACKEND": "neo4j",
        "AMALGAM_NEO4J_URI": settings.neo4j_uri,
        "AMALGAM_NEO4J_PASSWORD": settings.neo4j_password,
        "AMALGAM_WORKSPACE": settings.workspace,
    }


def _cli_ingest(settings: Settings, source: Path, log: Path) -> subprocess.Popen[bytes]:
    return _cli(settings, ["ingest", str(source)], log)


def _cli(settings: Settings, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``amalgam ARGS`` in another process, on the same workspace as ``settings``, its output into ``log``."""
    env = {**os.environ, "AMALGAM_DATA_DIR": str(settings.data_dir), "AMALGAM_CHUNKER": "sentence"}
    env.update(HF_HUB_OFFLINE="1", **_store_env(settings))
    env.pop("AMALGAM_CONFIG", None)
    with log.open("wb") as out:
        return subprocess.Popen(["amalgam", *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def _store_chunk_ids(settings: Settings) -> set[str]:
    store = open_store(settings)  # a fresh connection: what any process would read
    try:
        return {chunk.id for chunk in store.iter_chunks()}
    finally:
        store.close()


def _indexed_chunk_ids(settings: Settings) -> tuple[set[str], set[str]]:
    """The chunk ids in the saved FAISS id map and in the saved BM25 texts."""
    index = settings.workspace_dir / "index"
    dense = set(json.loads((index / "chunk_ids.json").read_text()).values())
    with (index / "bm25_texts.jsonl").open() as texts:
        sparse = {json.loads(line)["id"] for line in texts}
    return dense, sparse


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "embedded":
        return {}
    server = request.getfixturevalue("neo4j_server")
    workspace = f"w{uuid.uuid4().hex[:12]}"
    return {
        "graph_backend": "neo4j",
        "neo4j_uri": server.uri,
        "neo4j_password": server.password or "unused",
        "workspace": workspace,
    }


def test_another_process_s_chunks_survive_this_one_s_next_write(
    tmp_path: Path, embedder: object, store_settings: dict[str, str]
) -> None:
    settings = _settings(tmp_path / "data", **store_settings)
    engine = Engine(settings, embedder=embedder)  # type: ignore[arg-type]
    try:
        engine.ingest([SAMPLE / "halvorsen_viaduct.md"])
        assert engine.retrieve("Who designed the Halvorsen Viaduct?").evidence  # its retriever is open now
        observatory = tmp_path / "observatory.txt"
        observatory.write_text(OBSERVATORY)
        cli = _cli_ingest(settings, observatory, tmp_path / "cli.log")
        assert cli.wait(timeout=600) == 0, (tmp_path / "cli.log").read_text()[-2000:]

        # The engine's open retriever sees what the other process wrote, without a restart.
        found = engine.retrieve("Who founded the Quillfeather Observatory?", top_k=1)
        assert found.evidence[0].source.endswith("observatory.txt")

        engine.ingest([SAMPLE / "kestrel_river.html"])  # this engine writes again, after the other process
    finally:
        engine.close()
    stored = _store_chunk_ids(settings)
    if settings.graph_backend == "neo4j":
        _clear(settings)
    dense, sparse = _indexed_chunk_ids(settings)
    assert len(stored) >= 3
    assert dense == stored and sparse == stored  # every stored chunk is searchable, the CLI's included


def test_an_open_retriever_sees_the_communities_another_process_rebuilt(tmp_path: Path, embedder: object) -> None:
    settings = _settings(tmp_path / "data").model_copy(update={"communities": "off"})
    engine = Engine(settings, embedder=embedder)  # type: ignore[arg-type]
    themes = "What are the main themes of these documents?"
    try:
        engine.ingest(sorted(p for p in SAMPLE.iterdir() if p.suffix in {".txt", ".md", ".html"}))
        assert not engine.retrieve(themes, mode="global").communities  # none yet, and its retriever is open
        log = tmp_path / "cli.log"
        assert _cli(settings, ["graph", "rebuild-communities"], log).wait(timeout=600) == 0, log.read_text()[-2000:]
        # No index changed, but the hierarchy and its vectors did: the open retriever reopens with them.
        assert engine.retrieve(themes, mode="global").communities
    finally:
        engine.close()


def test_a_second_writer_waits_for_the_first_and_says_so(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    source = tmp_path / "observatory.txt"
    source.write_text(OBSERVATORY)
    log = tmp_path / "cli.log"
    with workspace_write_lock(settings):  # this test is the first writer
        cli = _cli_ingest(settings, source, log)
        deadline = time.monotonic() + 600
        while "being written by another process" not in log.read_text():
            assert cli.poll() is None, f"the second writer did not wait: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the second writer never reached the lock"
            time.sleep(0.2)
        time.sleep(1.0)
        assert cli.poll() is None  # still waiting while the lock is held
        assert not (settings.workspace_dir / "index" / "chunk_ids.json").exists()
    assert cli.wait(timeout=600) == 0, log.read_text()[-2000:]
    assert len(_store_chunk_ids(settings)) >= 1
    assert _indexed_chunk_ids(settings)[0] == _store_chunk_ids(settings)


def test_an_upload_that_cannot_get_the_workspace_gets_409_and_keeps_nothing(tmp_path: Path, embedder: object) -> None:
    settings = _settings(tmp_path / "data").model_copy(update={"api_write_wait_seconds": 1.0})
    api = create_app(settings, engine=Engine(settings, embedder=embedder))  # type: ignore[arg-type]
    upload = {"file": ("observatory.txt", OBSERVATORY.encode())}
    with serving(api) as base:
        with workspace_write_lock(settings):  # another process's long ingest, as far as the server can tell
            started = time.monotonic()
            refused = httpx.post(f"{base}/v1/documents", files=upload, timeout=120)
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"]["code"] == "conflict"
            assert "is being written" in refused.json()["error"]["message"]
            assert time.monotonic() - started < 60  # it did not wait for the lock's holder
            assert httpx.get(f"{base}/v1/documents", timeout=30).json() == []
            uploads = settings.workspace_dir / "uploads"
            assert not uploads.exists() or not any(uploads.iterdir())  # the refused file is not left behind
        accepted = httpx.post(f"{base}/v1/documents", files=upload, timeout=600)
        assert accepted.status_code == 201, accepted.text
        assert [d["title"] for d in httpx.get(f"{base}/v1/documents", timeout=30).json()] == ["observatory"]


def _clear(settings: Settings) -> None:
    store = open_store(settings)
    try:
        store.clear()
    finally:
        store.close()
