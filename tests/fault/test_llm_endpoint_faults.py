"""An LLM endpoint that misbehaves: LLM extraction through the real OpenAI-compatible client and a real HTTP
server on loopback that answers each chunk with one kind of fault. The ingest must finish, every chunk must
get a status, retries must happen with backoff (and wait out a 429's Retry-After), and the report must count
the failures. The server's answers are scripted; what is tested is the client side: retries, parsing and the
ingest's bookkeeping, never the quality of a model.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.config import load_settings
from app.engine import Engine

GOOD = {"entities": [{"name": "Ingrid Solberg", "type": "PERSON", "description": "an engineer"}], "relations": []}
# Each file's text carries the marker that tells the server which fault to answer with.
FILES = {
    "ok.txt": "MARK-OK Ingrid Solberg was an engineer.",
    "throttled.txt": "MARK-429 Ingrid Solberg was an engineer.",
    "broken.txt": "MARK-500 Ingrid Solberg was an engineer.",
    "garbled.txt": "MARK-BADJSON Ingrid Solberg was an engineer.",
    "empty.txt": "MARK-EMPTY Ingrid Solberg was an engineer.",
    "slow.txt": "MARK-SLOW Ingrid Solberg was an engineer.",
}
RETRY_AFTER_S = 1


class FaultyServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FaultyHandler)
        self.lock = threading.Lock()
        self.calls: dict[str, list[float]] = defaultdict(list)  # marker -> request times


class FaultyHandler(BaseHTTPRequestHandler):
    server: FaultyServer

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        marker = next((m for m in ("OK", "429", "500", "BADJSON", "EMPTY", "SLOW") if f"MARK-{m}" in body), "OTHER")
        with self.server.lock:
            self.server.calls[marker].append(time.monotonic())
            seen = len(self.server.calls[marker])
        if marker == "429" and seen == 1:
            self._reply(429, b'{"error": {"message": "slow down"}}', {"Retry-After": str(RETRY_AFTER_S)})
        elif marker == "500":
            self._reply(500, b'{"error": {"message": "boom"}}')
        elif marker == "EMPTY":
            self._reply(200, b"")
        elif marker == "SLOW":
            time.sleep(3)  # longer than the client's timeout
            self._reply(200, self._completion(json.dumps(GOOD)))
        elif marker == "BADJSON":
            self._reply(200, self._completion('{"entities": [{"name": "Ingrid Solberg", "type": '))
        else:
            self._reply(200, self._completion(json.dumps(GOOD)))

    def _completion(self, content: str) -> bytes:
        return json.dumps(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 0,
                "model": "faulty",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        ).encode()

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout); nothing to answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    faulty = FaultyServer()
    threading.Thread(target=faulty.serve_forever, daemon=True).start()
    yield faulty
    faulty.shutdown()


def test_ingest_finishes_and_reports_every_endpoint_fault(server: FaultyServer, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, text in FILES.items():
        (inbox / name).write_text(text)
    settings = load_settings(
        data_dir=tmp_path / "data",
        chunker="sentence",
        extractor="llm",
        llm_provider="openai",
        llm_model="faulty",
        llm_base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
        llm_api_key="unused",
        llm_timeout_s=1,
        llm_max_retries=2,
        llm_concurrency=2,
    )
    engine = Engine(settings)
    # One file per batch, the well-behaved one first (its call settles which structured mode the server takes).
    engine.pipeline.batch_size = 1
    report = engine.ingest(sorted(inbox.iterdir(), key=lambda p: p.name != "ok.txt"))
    engine.close()

    assert report.documents_new == len(FILES) and report.errors == []  # a failed extraction loses no document
    status = report.extraction_status
    assert status.get("failed", 0) >= 3, status  # 500, empty body and timeouts: failed after the retries
    assert status.get("ok", 0) + status.get("repaired", 0) >= 2, status  # the good one and the throttled one
    assert sum(status.values()) == len(FILES)
    throttled = server.calls["429"]
    assert len(throttled) >= 2 and throttled[1] - throttled[0] >= RETRY_AFTER_S * 0.9  # Retry-After waited out
    assert len(server.calls["500"]) >= 1 + settings.llm_max_retries  # retried, then given up
    assert report.llm_tokens.get("prompt_tokens", 0) > 0  # the successful calls were counted
