"""Serving: the routed expert answers with citations; a backend that is down hands over to the general expert
(the route says so); evidence too long for the window is trimmed by rank (the route says so)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from app.experts.pool import ExpertPool
from app.experts.registry import CheckpointBackend, Expert, ExpertRegistry, OpenAIBackend
from app.experts.serving import ExpertService, trim_by_rank
from app.results import Route
from ingest.models import Chunk
from retrieval.types import Evidence, RetrievalResult
from tests.unit.tiny_llama import WORDS, tiny_llama


class Fixed:
    """A router that always names one expert."""

    name = "fixed"

    def __init__(self, expert: str) -> None:
        self.expert = expert

    def route(self, question: str, result: RetrievalResult | None = None) -> Route:
        return Route(expert=self.expert, router=self.name, scores={self.expert: 1.0}, confidence=1.0, reason="test")


def _evidence(n: int, words: int) -> list[Evidence]:
    return [
        Evidence(
            chunk=Chunk(id=f"c{i}", doc_id="d", index=i, text=" ".join(WORDS[:words]), start=0, end=1), title=f"t{i}"
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ExpertService:
    model = tiny_llama(tmp_path_factory.mktemp("tiny") / "m", seed=0)
    registry = ExpertRegistry(
        experts=[
            Expert(name="down", backend=OpenAIBackend(base_url="http://127.0.0.1:9/v1", model="m")),
            Expert(name="small", backend=CheckpointBackend(path=model), context_tokens=400),
            Expert(name="general", backend=CheckpointBackend(path=model)),
        ]
    )
    settings = load_settings(llm_max_tokens=16, llm_max_retries=0, llm_timeout_s=5)
    return ExpertService(settings, registry, Fixed("down"), ExpertPool(settings, budget_bytes=10**9))


def test_a_backend_that_is_down_falls_back_to_general(service: ExpertService) -> None:
    result = RetrievalResult(question="w1 w2?", mode="hybrid", evidence=_evidence(2, 10))
    answer = service.answer(result)
    assert answer.route is not None and answer.route.expert == "general" and answer.route.router == "fixed"
    assert any("'down' is unavailable" in note and "general expert answered" in note for note in answer.route.notes)
    assert answer.generated_by == "expert:general" and [s.chunk_id for s in answer.sources] == ["c0", "c1"]
    streamed = service.stream(result)
    assert streamed.route.expert == "general" and isinstance("".join(streamed.pieces), str)


def test_models_load_once_per_backend(service: ExpertService) -> None:
    result = RetrievalResult(question="w1?", mode="hybrid", evidence=_evidence(1, 5))
    service.answer(result, "small")
    service.answer(result, "general")
    local = [key for key in service.pool.loaded if key.startswith("checkpoint:")]
    assert len(local) == 1  # "small" and "general" share one checkpoint folder


def test_evidence_longer_than_the_window_is_trimmed_by_rank(service: ExpertService) -> None:
    result = RetrievalResult(question="w1?", mode="hybrid", evidence=_evidence(3, 100))
    answer = service.answer(result, "small")
    assert answer.route is not None and answer.route.expert == "small"
    assert [s.chunk_id for s in answer.sources] == ["c0", "c1"]  # the lowest-ranked passage went first
    assert any("trimmed by rank to 2 of 3 passages" in n and "(400 tokens)" in n for n in answer.route.notes)


def test_a_single_passage_too_long_is_cut() -> None:
    kept = trim_by_rank("q", _evidence(2, 100), lambda text: len(text.split()), budget=90)
    assert len(kept) == 1 and 0 < len(kept[0].chunk.text.split()) < 100


def test_an_unknown_model_lists_the_known_ones(service: ExpertService) -> None:
    from app.errors import UnknownComponentError

    with pytest.raises(UnknownComponentError, match="known: auto, down, general, small"):
        service.resolve(RetrievalResult(question="q", mode="hybrid"), "nope")


def test_pool_unloads_the_least_recently_used_over_budget(tmp_path: Path) -> None:
    a, b = tiny_llama(tmp_path / "a", seed=1), tiny_llama(tmp_path / "b", seed=2)
    settings = load_settings()
    pool = ExpertPool(settings, budget_bytes=1)  # room for one model only
    pool.chat_model(Expert(name="a", backend=CheckpointBackend(path=a)))
    pool.chat_model(Expert(name="b", backend=CheckpointBackend(path=b)))
    assert pool.loaded == [f"checkpoint:{b}"]
