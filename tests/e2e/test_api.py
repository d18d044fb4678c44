"""The REST API end to end on the embedded store: upload, list, ask, stream, delete, auth, bad uploads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.config import load_settings

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("api"), api_key="k3y")
    api = create_app(settings)
    with TestClient(api, headers={"X-API-Key": "k3y"}) as test_client:
        yield test_client
    api.state.engine.close()


def _upload(client: TestClient, name: str) -> dict:
    response = client.post("/v1/documents", files={"file": (name, (SAMPLE / name).read_bytes())})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_health_is_open(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-API-Key": ""}).json()["status"] == "ok"


def test_api_key_is_required_when_configured(client: TestClient) -> None:
    assert client.get("/v1/documents", headers={"X-API-Key": "wrong"}).status_code == 401


def test_upload_ask_and_delete(client: TestClient) -> None:
    first = _upload(client, "ingrid_solberg.txt")
    assert first["documents_new"] == 1 and first["chunks"] >= 1
    assert _upload(client, "ingrid_solberg.txt")["documents_unchanged"] == 1
    _upload(client, "halvorsen_viaduct.md")

    answer = client.post("/v1/ask", json={"question": "Where was Ingrid Solberg born?", "top_k": 3}).json()
    assert "Bergen" in answer["answer"]
    assert answer["sources"][0]["title"] == "ingrid_solberg"
    assert {"doc_id", "chunk_id", "title", "page", "text", "score"} <= set(answer["sources"][0])

    found = client.post("/v1/search", json={"question": "Where was Ingrid Solberg born?", "top_k": 2}).json()
    assert found["sources"][0]["title"] == "ingrid_solberg" and len(found["sources"]) == 2
    assert "answer" not in found and found["latency_ms"] > 0

    docs = client.get("/v1/documents").json()
    solberg = next(d for d in docs if d["title"] == "ingrid_solberg")
    deleted = client.delete(f"/v1/documents/{solberg['id']}").json()
    assert deleted["deleted"] and deleted["chunks"] >= 1
    assert client.delete(f"/v1/documents/{solberg['id']}").status_code == 404
    after = client.post("/v1/ask", json={"question": "Where was Ingrid Solberg born?"}).json()
    assert all(s["doc_id"] != solberg["id"] for s in after["sources"])


def test_stream_sends_tokens_then_sources(client: TestClient) -> None:
    _upload(client, "kestrel_river.html")
    with client.stream("POST", "/v1/ask/stream", json={"question": "Where does the Kestrel River rise?"}) as response:
        body = "".join(response.iter_text())
    events = [block for block in body.split("\n\n") if block]
    assert events[0].startswith("event: token") and events[-1].startswith("event: sources")
    sources = json.loads(events[-1].split("data: ", 1)[1])["sources"]
    assert sources and sources[0]["title"] == "Kestrel River"


@pytest.mark.parametrize("name", ["../../escape.txt", "..\\..\\evil.md", ".bashrc"])
def test_uploads_cannot_escape_their_folder(client: TestClient, name: str, tmp_path: Path) -> None:
    response = client.post("/v1/documents", files={"file": (name, b"Some harmless text about rivers.")})
    settings = client.app.state.settings  # type: ignore[attr-defined]
    uploads = (settings.workspace_dir / "uploads").resolve()
    if response.status_code == 201:
        assert all(p.resolve().parent == uploads for p in uploads.iterdir())
    else:
        assert response.status_code in (400, 415)
    assert not (settings.data_dir / "escape.txt").exists()


def test_bad_requests_get_clear_errors(client: TestClient) -> None:
    assert client.post("/v1/documents", files={"file": ("x.exe", b"MZ")}).status_code == 415
    corrupt = client.post("/v1/documents", files={"file": ("bad.pdf", b"%PDF-1.4 garbage")})
    assert corrupt.status_code == 422 and "PDF" in corrupt.json()["error"]["message"]
    assert client.post("/v1/ask", json={"question": ""}).status_code == 422
    assert client.post("/v1/ask", json={"question": "   "}).status_code == 422


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/ask", "/v1/search", "/v1/ask/stream", "/v1/documents", "/v1/documents/{doc_id}", "/healthz"} <= set(
        paths
    )
