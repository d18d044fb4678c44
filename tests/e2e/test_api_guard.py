"""What the API refuses before reading a request body, and what its error messages do not reveal."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI

from app.api.main import create_app
from app.api.routes.documents import stored_name
from app.config import load_settings
from tests.e2e.conftest import serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FastAPI]]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("api-guard"), api_key="s3cret", chunker="sentence", upload_max_mb=1
    )
    api = create_app(settings)
    with serving(api) as base:
        yield base, api
    api.state.engine.close()


def _raw_request(base: str, head: str, timeout: float = 5.0) -> str:
    """Send request headers only (the declared body never follows) and return the status line."""
    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as conn:
        conn.sendall(head.encode())
        return conn.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_key_is_checked_before_the_body_is_read(server: tuple[str, FastAPI]) -> None:
    base, _ = server
    head = (
        "POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 100000000\r\n\r\n"
    )
    # Had the server waited for the 100 MB it was promised, recv would time out instead of answering.
    assert " 401 " in _raw_request(base, head)


def test_oversized_body_is_refused_from_its_declared_length(server: tuple[str, FastAPI]) -> None:
    base, _ = server
    head = (
        "POST /v1/documents HTTP/1.1\r\nHost: x\r\nX-API-Key: s3cret\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n"
    )
    assert " 413 " in _raw_request(base, head)


def test_oversized_streamed_body_is_refused(server: tuple[str, FastAPI]) -> None:
    base, _ = server

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to judge by
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 65536
        yield b"\r\n--b--\r\n"

    with httpx.Client(base_url=base, headers={"X-API-Key": "s3cret"}, timeout=30) as client:
        response = client.post(
            "/v1/documents", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
    assert response.status_code == 413


def test_wrong_key_is_refused_and_health_stays_open(server: tuple[str, FastAPI]) -> None:
    base, _ = server
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/v1/documents", headers={"X-API-Key": "s3cre"}).status_code == 401
        assert client.get("/v1/documents").status_code == 401
        assert client.get("/healthz").status_code == 200


def test_lone_surrogate_question_is_a_client_error(server: tuple[str, FastAPI]) -> None:
    base, _ = server
    body = b'{"question": "Where was \\ud800 born?"}'
    with httpx.Client(base_url=base, headers={"X-API-Key": "s3cret"}, timeout=60) as client:
        response = client.post("/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_upload_names_that_clean_alike_do_not_replace_each_other() -> None:
    assert stored_name("report?.txt") != stored_name("report!.txt")
    assert stored_name("report.txt") == "report.txt"
    long = stored_name("a" * 300 + ".txt")
    assert long.endswith(".txt") and len(long) < 130


def test_long_upload_name_and_errors_without_server_paths(server: tuple[str, FastAPI]) -> None:
    base, api = server
    data_dir = str(Path(api.state.settings.data_dir).resolve())
    with httpx.Client(base_url=base, headers={"X-API-Key": "s3cret"}, timeout=120) as client:
        long = client.post("/v1/documents", files={"file": ("n" * 300 + ".txt", b"A river runs through Bergen.")})
        assert long.status_code == 201, long.text
        corrupt = client.post("/v1/documents", files={"file": ("broken.pdf", b"%PDF-1.4 not really")})
    assert corrupt.status_code == 422
    assert "broken.pdf" in corrupt.text and data_dir not in corrupt.text and "/uploads/" not in corrupt.text


def test_read_only_key_is_refused_before_the_body_is_read(tmp_path: Path) -> None:
    from app.keys import add_key

    settings = load_settings(data_dir=tmp_path, chunker="sentence")
    secret = add_key(settings.api_keys_file, "reader", "read", [])
    api = create_app(settings)
    head = (
        f"POST /v1/documents HTTP/1.1\r\nHost: x\r\nX-API-Key: {secret}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000\r\n\r\n"
    )
    with serving(api) as base:
        assert " 403 " in _raw_request(base, head)  # answered without the 1000 bytes it was promised
        assert " 403 " in _raw_request(base, head.replace("/v1/documents", "/v1/workspaces/default/jobs/uploads"))
    api.state.engine.close()
