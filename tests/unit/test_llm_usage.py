"""Token accounting, retry backoff, and the local model base's retry and concurrency limit."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import LLMResult

from app.llm.local import Completion, LocalChatModel, json_schema_of
from app.llm.retry import backoff_delay, call_with_retry
from app.llm.usage import TokenUsage, TokenUsageCallback, usage_of


def test_callback_sums_usage_metadata_per_call() -> None:
    usage = TokenUsage()
    replies = [
        AIMessage(content="a", usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}),
        AIMessage(content="b", usage_metadata={"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}),
    ]
    model = GenericFakeChatModel(messages=iter(replies), callbacks=[TokenUsageCallback(usage)])
    model.invoke("hi")
    model.invoke("again")
    assert [(c.prompt_tokens, c.completion_tokens) for c in usage.calls] == [(7, 3), (5, 2)]
    assert usage.as_dict() == {"calls": 2, "prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


def test_usage_falls_back_to_llm_output_and_skips_calls_without_figures() -> None:
    reported = LLMResult(generations=[[]], llm_output={"token_usage": {"prompt_tokens": 4, "completion_tokens": 6}})
    assert usage_of(reported) is not None and usage_of(reported).total_tokens == 10  # type: ignore[union-attr]
    assert usage_of(LLMResult(generations=[[]])) is None


def test_usage_accumulator_is_thread_safe() -> None:
    usage = TokenUsage()
    threads = [threading.Thread(target=lambda: [usage.add(1, 1) for _ in range(500)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert usage.call_count == 2000 and usage.total_tokens == 4000


def test_backoff_grows_exponentially_and_is_capped() -> None:
    delays = [backoff_delay(attempt, base_s=1.0, cap_s=8.0) for attempt in (1, 2, 3, 4, 10)]
    for delay, nominal in zip(delays, [1, 2, 4, 8, 8], strict=True):
        assert 0.75 * nominal <= delay <= 1.25 * nominal


def test_retry_gives_up_after_max_retries() -> None:
    calls, slept = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("slow")
        return "done"

    assert call_with_retry(flaky, max_retries=2, sleep=slept.append) == "done"
    assert len(slept) == 2 and slept[1] > slept[0] * 0.9
    calls.clear()
    with pytest.raises(TimeoutError):
        call_with_retry(flaky, max_retries=1, sleep=slept.append)


class EchoBackend(LocalChatModel):
    """The base class under test, over a backend that echoes and can fail or stall on demand."""

    failures_left: int = 0
    in_flight: int = 0
    most_in_flight: int = 0

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _complete(self, messages: list[dict[str, str]], **kwargs: Any) -> Completion:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.02)
        self.in_flight -= 1
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("backend hiccup")
        reply = f"{messages[-1]['role']}:{messages[-1]['content']}:{kwargs['max_tokens']}"
        return Completion(text=reply, prompt_tokens=3, completion_tokens=2)


def test_local_model_retries_and_reports_usage() -> None:
    usage = TokenUsage()
    model = EchoBackend(model_path="x", max_tokens=9, failures_left=1, callbacks=[TokenUsageCallback(usage)])
    reply = model.invoke([HumanMessage("hello")])
    assert reply.text == "user:hello:9"
    assert reply.usage_metadata is not None and reply.usage_metadata["input_tokens"] == 3
    assert usage.as_dict()["total_tokens"] == 5


def test_local_model_limits_concurrency() -> None:
    model = EchoBackend(model_path="x", max_concurrency=1)
    threads = [threading.Thread(target=model.invoke, args=("hi",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.most_in_flight == 1


def test_json_schema_is_read_from_either_openai_style() -> None:
    schema = {"type": "object"}
    assert json_schema_of({"type": "json_schema", "json_schema": {"schema": schema}}) == schema
    assert json_schema_of({"type": "json_object", "schema": schema}) == schema
    assert json_schema_of({"type": "json_object"}) is None and json_schema_of(None) is None
