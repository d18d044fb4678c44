"""Answers from global search: each community's line cites the evidence it gave; with an LLM, one map call
per community (a community with nothing to say is dropped) and one reduce call; a summary-less community
is skipped by the index and reported."""

from __future__ import annotations

from unittest.mock import MagicMock

import numpy as np
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.answer import Answerer
from app.global_answer import reduce_prompt
from graph.models import Community
from graph.store.base import GraphStore
from ingest.models import Chunk, Document
from retrieval.communities import CommunityIndex
from retrieval.types import CommunityEvidence, Evidence, RetrievalResult


def _evidence(text: str, title: str) -> Evidence:
    doc = Document.from_text(text, source=f"{title}.txt", title=title)
    return Evidence(chunk=Chunk.from_span(doc, 0, 0, len(text), "test"), title=title, score=1.0)


def _result() -> RetrievalResult:
    bridge = _evidence("Ingrid Solberg designed the Halvorsen Viaduct in 1931.", "solberg")
    river = _evidence("The Kestrel River flows past the town of Halvorsen.", "river")
    mercury = _evidence("Mercury is a chemical element with the symbol Hg.", "mercury")
    return RetrievalResult(
        question="What are the main themes of these documents?",
        mode="global",
        evidence=[bridge, river, mercury],
        communities=[
            CommunityEvidence(
                id="c-1", level=0, title="Ingrid Solberg, Halvorsen", summary="Bridges and their builders.",
                chunk_ids=[bridge.chunk.id, river.chunk.id],
            ),
            CommunityEvidence(id="c-2", level=0, title="Mercury", summary="A chemical element.",
                              chunk_ids=[mercury.chunk.id]),
        ],
    )  # fmt: skip


def test_offline_answer_has_one_cited_line_per_community(embedder) -> None:  # type: ignore[no-untyped-def]
    answer = Answerer(embedder).answer(_result())
    assert "Ingrid Solberg, Halvorsen: Bridges and their builders. [1][2]" in answer.answer
    assert "Mercury: A chemical element. [3]" in answer.answer
    assert [(c.id, c.sources) for c in answer.communities] == [("c-1", [1, 2]), ("c-2", [3])]


def test_llm_answer_maps_each_community_then_reduces(embedder) -> None:  # type: ignore[no-untyped-def]
    model = FakeListChatModel(responses=["Bridges were designed by Solberg [1].", "NOTHING", "Bridges [1]."])
    answer = Answerer(embedder, model).answer(_result())
    assert answer.answer == "Bridges [1]."
    assert model.i == 0  # all three scripted replies were used: two map calls and one reduce call


def test_reduce_prompt_keeps_the_partials_citations() -> None:
    prompt = reduce_prompt("q?", ["A [1].", "B [2][3]."])
    assert "- A [1]." in prompt and "- B [2][3]." in prompt and "Question: q?" in prompt


def test_communities_without_a_summary_are_skipped_and_counted() -> None:
    store = MagicMock(spec=GraphStore)
    store.get_communities.return_value = [
        Community(id="c-ok", level=0, title="Solberg", summary="An engineer.", members=["e-1"], size=1),
        Community(id="c-failed", level=0, title="Mercury", summary="", members=["e-2"], size=1),
    ]
    index = CommunityIndex.open(store, lambda texts: np.ones((len(texts), 4), dtype=np.float32))
    assert [c.id for c in index.communities] == ["c-ok"] and index.skipped == 1
