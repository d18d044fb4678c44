"""LLMExtractor's parsing, retry, gleaning, filtering and reporting, driven by scripted replies.

A scripted chat model stands in for the LLM only to exercise the parsing paths; the real model
runs in tests/integration/test_llm_extraction.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from graph.extraction.llm import LLMExtractor
from graph.models import SAFE_TYPE
from ingest.models import Chunk, Document

TEXT = "Jeff Porcaro was the drummer of Toto, a rock band from Los Angeles."
GOOD = {
    "entities": [
        {"name": "Jeff Porcaro", "type": "person", "description": "Drummer of Toto."},
        {"name": "Toto", "type": "Band", "description": "A rock band."},
        {"name": "Los Angeles", "type": "LOCATION", "description": "City."},
    ],
    "relations": [
        {"source": "Jeff Porcaro", "target": "Toto", "type": "member of", "description": "", "strength": 9},
        {"source": "toto", "target": "Los Angeles", "type": "FROM", "description": "", "strength": 7},
    ],
}


class ScriptedChatModel(BaseChatModel):
    """Replies with ``script(messages, kwargs)``; records every call's kwargs."""

    script: Callable[[list[BaseMessage], dict[str, Any]], str]
    seen: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any):
        self.seen.append(kwargs)
        text = self.script(messages, kwargs)
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, usage_metadata=usage))])


def chunk_of(text: str = TEXT) -> Chunk:
    doc = Document.from_text(text, source="test", title="t")
    return Chunk.from_span(doc, 0, 0, len(text), "whole")


def replies(*texts: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(AIMessage(content=t) for t in texts))


def test_valid_reply_becomes_mentions_with_provenance_and_safe_types() -> None:
    chunk = chunk_of()
    [extraction], report = LLMExtractor(replies(json.dumps(GOOD))).extract_with_report([chunk])
    assert extraction.status == "ok" and report.chunks[0].first_reply_valid
    assert {e.name for e in extraction.entities} == {"Jeff Porcaro", "Toto", "Los Angeles"}
    assert {e.type for e in extraction.entities} == {"PERSON", "BAND", "LOCATION"}
    assert all(m.chunk_id == chunk.id and m.doc_id == chunk.doc_id for m in extraction.entities)
    assert {(r.source, r.type, r.target) for r in extraction.relations} == {
        ("Jeff Porcaro", "MEMBER_OF", "Toto"),
        ("Toto", "FROM", "Los Angeles"),  # endpoint matched case-insensitively, written as listed
    }
    assert all(SAFE_TYPE.match(r.type) and r.chunk_id == chunk.id for r in extraction.relations)


def test_broken_json_is_repaired_and_marked() -> None:
    broken = "```json\n" + json.dumps(GOOD)[:-1] + ",}\n```"
    [extraction], report = LLMExtractor(replies(broken)).extract_with_report([chunk_of()])
    assert extraction.status == "repaired" and len(extraction.entities) == 3
    assert not report.chunks[0].first_reply_valid and report.chunks[0].calls == 1


def test_unusable_reply_is_retried_once_with_the_error_shown() -> None:
    def script(messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        return json.dumps(GOOD) if len(messages) > 2 else "Sorry, I can't do JSON."

    model = ScriptedChatModel(script=script)
    [extraction], report = LLMExtractor(model, use_structured_output=False).extract_with_report([chunk_of()])
    assert extraction.status == "repaired" and len(extraction.entities) == 3
    assert report.chunks[0].calls == 2


def test_chunk_fails_after_one_retry_and_the_run_goes_on() -> None:
    def script(messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        return json.dumps(GOOD) if "Toto" in messages[1].text else "no idea"

    chunks = [chunk_of("Nothing to see."), chunk_of()]
    model = ScriptedChatModel(script=script)
    extractions, report = LLMExtractor(model, concurrency=2).extract_with_report(chunks)
    assert [e.chunk_id for e in extractions] == [c.id for c in chunks]
    assert extractions[0].status == "failed" and "not valid JSON" in extractions[0].error
    assert not extractions[0].entities
    assert report.chunks[0].calls == 2  # first reply + the one retry
    assert extractions[1].status == "ok"
    assert report.totals == {"ok": 1, "empty": 0, "repaired": 0, "failed": 1}
    assert report.usable_rate == 0.5


def test_empty_output_is_reported_as_empty_not_silently_ok() -> None:
    [extraction], report = LLMExtractor(replies('{"entities": [], "relations": []}')).extract_with_report([chunk_of()])
    assert extraction.status == "empty" and extraction.error
    assert report.totals["empty"] == 1


def test_ungrounded_and_off_ontology_entities_are_filtered_with_their_relations() -> None:
    reply = json.dumps(
        {
            "entities": [*GOOD["entities"], {"name": "Marie Curie", "type": "PERSON"}],
            "relations": [*GOOD["relations"], {"source": "Marie Curie", "target": "Toto", "type": "X"}],
        }
    )
    extractor = LLMExtractor(replies(reply), entity_types=["person", "band"], relation_types=["MEMBER_OF"])
    [extraction], report = extractor.extract_with_report([chunk_of()])
    assert {e.name for e in extraction.entities} == {"Jeff Porcaro", "Toto"}  # no Curie, no LA
    assert [r.type for r in extraction.relations] == ["MEMBER_OF"]
    assert report.chunks[0].filtered_items == 4


def test_gleaning_adds_missed_items_and_stops_when_nothing_new() -> None:
    first = {"entities": GOOD["entities"][:1], "relations": []}
    more = {"entities": GOOD["entities"][1:], "relations": GOOD["relations"]}
    none = {"entities": [], "relations": []}
    model = replies(json.dumps(first), json.dumps(more), json.dumps(none), json.dumps(GOOD))
    [extraction], report = LLMExtractor(model, gleaning=3).extract_with_report([chunk_of()])
    assert len(extraction.entities) == 3 and len(extraction.relations) == 2
    assert report.chunks[0].calls == 3  # extraction, one useful pass, one empty pass


def test_structured_mode_falls_back_to_what_the_backend_accepts() -> None:
    def script(messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        if kwargs.get("response_format", {}).get("type") == "json_schema":
            raise ValueError("Input should be 'text' or 'json_object'")
        return json.dumps(GOOD)

    model = ScriptedChatModel(script=script, seen=[])
    extractions, report = LLMExtractor(model, concurrency=3).extract_with_report([chunk_of()] * 4)
    assert report.requested_format == "json_object"
    assert all(e.status == "ok" for e in extractions)
    assert [kw["response_format"]["type"] for kw in model.seen] == ["json_schema"] + ["json_object"] * 4
    assert "entities" in model.seen[-1]["response_format"]["schema"]["properties"]


def test_backend_down_fails_chunks_but_keeps_probing_structured_modes() -> None:
    def script(messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        raise ConnectionError("connection refused")

    extractions, report = LLMExtractor(ScriptedChatModel(script=script)).extract_with_report([chunk_of()] * 2)
    assert [e.status for e in extractions] == ["failed", "failed"]
    assert "ConnectionError" in extractions[0].error
    assert report.requested_format == "json_schema"  # nothing was learned about the format


def test_token_usage_is_summed_over_calls() -> None:
    model = ScriptedChatModel(script=lambda messages, kwargs: json.dumps(GOOD))
    _, report = LLMExtractor(model).extract_with_report([chunk_of(), chunk_of()])
    assert (report.calls, report.prompt_tokens, report.completion_tokens) == (2, 20, 10)


def test_no_chunks_no_calls() -> None:
    extractions, report = LLMExtractor(replies()).extract_with_report([])
    assert extractions == [] and report.totals == {"ok": 0, "empty": 0, "repaired": 0, "failed": 0}


def test_extract_keeps_the_last_report() -> None:
    extractor = LLMExtractor(replies(json.dumps(GOOD)))
    assert extractor.extract([chunk_of()])[0].status == "ok"
    assert extractor.last_report is not None and extractor.last_report.totals["ok"] == 1


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError):
        LLMExtractor(replies(), gleaning=-1)


def test_list_cap_reaches_the_schema_sent_to_the_backend() -> None:
    model = ScriptedChatModel(script=lambda messages, kwargs: json.dumps(GOOD), seen=[])
    LLMExtractor(model, max_items=3).extract([chunk_of()])
    schema = model.seen[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["entities"]["maxItems"] == 3 == schema["properties"]["relations"]["maxItems"]
