"""Workspaces and scoped API keys through the REST API: data never crosses workspaces, keys are scoped
(read-only keys cannot write: 403 before the body is read), and every error uses the one error model."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.config import load_settings

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
ADMIN, READ_A, ADMIN_A, LEGACY = "admin-secret", "read-a-secret", "admin-a-secret", "legacy-secret"


def _entry(name: str, secret: str, scope: str, workspaces: str) -> str:
    return f"{name}:{hashlib.sha256(secret.encode()).hexdigest()}:{scope}:{workspaces}"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("api-ws"),
        chunker="sentence",
        api_key=LEGACY,
        api_keys=[
            _entry("admin", ADMIN, "admin", "*"),
            _entry("reader-a", READ_A, "read", "team-a"),
            _entry("admin-a", ADMIN_A, "admin", "team-a"),
        ],
    )
    api = create_app(settings)
    with TestClient(api, headers={"X-API-Key": ADMIN}) as test_client:
        for name in ("team-a", "team-b"):
            assert test_client.put(f"/v1/workspaces/{name}").status_code == 201
        with (SAMPLE / "ingrid_solberg.txt").open("rb") as sample:
            uploaded = test_client.post(
                "/v1/workspaces/team-a/documents", files={"file": ("ingrid_solberg.txt", sample)}
            )
        assert uploaded.status_code == 201, uploaded.text
        yield test_client
    api.state.engine.close()


def _error(response: object, status: int, code: str) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return str(body["error"]["message"])


def test_data_never_crosses_workspaces(client: TestClient) -> None:
    question = {"question": "Where was Ingrid Solberg born?", "top_k": 3}
    in_a = client.post("/v1/workspaces/team-a/ask", json=question).json()
    assert "Bergen" in in_a["answer"] and in_a["sources"][0]["title"] == "ingrid_solberg"
    in_b = client.post("/v1/workspaces/team-b/ask", json=question).json()
    assert in_b["sources"] == [] and "Bergen" not in in_b["answer"]
    assert client.get("/v1/workspaces/team-b/documents").json() == []
    assert client.get("/v1/documents").json() == []  # the default workspace is a workspace of its own
    assert [d["title"] for d in client.get("/v1/workspaces/team-a/documents").json()] == ["ingrid_solberg"]
    assert client.get("/v1/workspaces/team-b/graph/entities", params={"q": "Ingrid Solberg"}).json() == []
    assert client.get("/v1/workspaces/team-a").json()["documents"] == 1


def test_workspace_creation_is_idempotent_and_names_are_checked(client: TestClient) -> None:
    assert client.put("/v1/workspaces/team-a").status_code == 200
    names = [w["name"] for w in client.get("/v1/workspaces").json()]
    assert {"default", "team-a", "team-b"} <= set(names) and "inbox" not in names
    _error(client.get("/v1/workspaces/nobody/documents"), 404, "not_found")
    _error(client.post("/v1/workspaces/nobody/ask", json={"question": "x"}), 404, "not_found")
    _error(client.put("/v1/workspaces/-bad"), 422, "validation_error")
    _error(client.get("/v1/workspaces/a..b/documents"), 422, "validation_error")


def test_keys_are_required_and_scoped(client: TestClient) -> None:
    assert "X-API-Key" in _error(client.get("/v1/documents", headers={"X-API-Key": ""}), 401, "unauthorized")
    _error(client.get("/v1/documents", headers={"X-API-Key": ADMIN + "x"}), 401, "unauthorized")
    assert client.get("/healthz", headers={"X-API-Key": ""}).status_code == 200
    assert client.get("/v1/documents", headers={"X-API-Key": LEGACY}).status_code == 200  # the old single key

    reader = {"X-API-Key": READ_A}
    assert client.post("/v1/workspaces/team-a/search", json={"question": "Bergen"}, headers=reader).status_code == 200
    assert [w["name"] for w in client.get("/v1/workspaces", headers=reader).json()] == ["team-a"]
    _error(client.get("/v1/workspaces/team-b/documents", headers=reader), 403, "forbidden")
    _error(client.get("/v1/documents", headers=reader), 403, "forbidden")  # the default workspace is not its
    upload = client.post("/v1/workspaces/team-a/documents", files={"file": ("x.txt", b"text")}, headers=reader)
    assert "read-only" in _error(upload, 403, "forbidden")
    _error(client.delete("/v1/workspaces/team-a/documents/doc-x", headers=reader), 403, "forbidden")
    _error(client.post("/v1/workspaces/team-a/jobs", json={"paths": ["x"]}, headers=reader), 403, "forbidden")
    _error(client.put("/v1/workspaces/team-c", headers=reader), 403, "forbidden")

    admin_a = {"X-API-Key": ADMIN_A}
    _error(client.put("/v1/workspaces/team-c", headers=admin_a), 403, "forbidden")  # outside its scope
    _error(client.delete("/v1/workspaces/team-a/documents/doc-x", headers=admin_a), 404, "not_found")


def test_bad_input_gets_the_error_model(client: TestClient) -> None:
    malformed = client.post("/v1/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert _error(malformed, 422, "validation_error")
    assert malformed.json()["error"]["details"]["fields"]
    _error(client.post("/v1/ask", json={"question": "x", "mode": "psychic"}), 422, "validation_error")
    _error(client.get("/v1/workspaces/team-a/documents/doc-unknown"), 404, "not_found")
    _error(client.get("/v1/workspaces/team-a/jobs/job-unknown"), 404, "not_found")
    _error(client.get("/v1/workspaces/team-a/graph/entities/ent-unknown"), 404, "not_found")
    method = client.put("/v1/ask", json={"question": "x"})
    _error(method, 405, "method_not_allowed")
    assert method.headers["Allow"] == "POST"
    _error(
        client.post("/v1/workspaces/team-a/documents", files={"file": ("x.exe", b"MZ")}), 415, "unsupported_media_type"
    )


def test_unexpected_errors_are_500_in_the_error_model(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = client.app.state.workspaces.get("team-b").engine  # type: ignore[attr-defined]

    def broken() -> list[object]:
        raise RuntimeError("/srv/secret/path exploded")

    monkeypatch.setattr(engine, "list_documents", broken)
    with TestClient(client.app, headers={"X-API-Key": ADMIN}, raise_server_exceptions=False) as raw:
        message = _error(raw.get("/v1/workspaces/team-b/documents"), 500, "internal_error")
    assert "secret" not in message


def test_cors_is_closed_by_default_and_opens_to_configured_origins(tmp_path: Path) -> None:
    preflight = {"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"}
    closed = TestClient(create_app(load_settings(data_dir=tmp_path / "a")))
    assert "access-control-allow-origin" not in closed.options("/v1/ask", headers=preflight).headers
    opened = TestClient(
        create_app(load_settings(data_dir=tmp_path / "b", cors_origins=["https://ui.example"], api_key="k"))
    )
    answer = opened.options("/v1/ask", headers=preflight | {"Access-Control-Request-Headers": "x-api-key"})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://ui.example"
    other = opened.options("/v1/ask", headers=preflight | {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
