"""``GET /v1/communities`` and ``mode=global`` through the REST API (embedded store, spaCy extraction)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.config import load_settings

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("api-global"), chunker="sentence")
    api = create_app(settings)
    with TestClient(api) as test_client:
        yield test_client
    api.state.engine.close()


def test_no_communities_before_any_ingest(client: TestClient) -> None:
    response = client.get("/v1/communities")
    assert response.status_code == 200 and response.json() == {"communities": []}


def test_upload_then_list_communities_by_level_with_summaries(client: TestClient) -> None:
    for name in ("ingrid_solberg.txt", "halvorsen_viaduct.md", "kestrel_river.html"):
        response = client.post("/v1/documents", files={"file": (name, (SAMPLE / name).read_bytes())})
        assert response.status_code == 201, response.text
    everything = client.get("/v1/communities").json()["communities"]
    assert everything, "the uploads built communities without a manual rebuild"
    keys = {"id", "level", "title", "summary", "size", "entities", "chunk_count"}
    assert all(set(c) == keys and c["summary"] and c["entities"] for c in everything)
    level0 = client.get("/v1/communities", params={"level": 0}).json()["communities"]
    assert level0 and {c["level"] for c in level0} == {0}
    assert {c["id"] for c in level0} <= {c["id"] for c in everything}
    assert client.get("/v1/communities", params={"level": -1}).status_code == 422


def test_ask_and_search_in_global_mode_cite_documents(client: TestClient) -> None:
    body = {"question": "What are the main themes of these documents?", "mode": "global", "top_k": 3}
    answer = client.post("/v1/ask", json=body).json()
    assert answer["mode"] == "global" and answer["sources"] and answer["communities"]
    uploaded = {"ingrid_solberg.txt", "halvorsen_viaduct.md", "kestrel_river.html"}
    assert {Path(s["source"]).name for s in answer["sources"]} <= uploaded
    cited = {n for c in answer["communities"] for n in c["sources"]}
    assert cited and max(cited) <= len(answer["sources"])
    search = client.post("/v1/search", json=body).json()
    assert search["communities"] and [s["chunk_id"] for s in search["sources"]] == [
        s["chunk_id"] for s in answer["sources"]
    ]
