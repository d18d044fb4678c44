"""Token accounting: prompt and completion tokens per LLM call, summed per job.

A ``TokenUsage`` is the accumulator of one job; ``TokenUsageCallback`` feeds it from the usage
metadata LangChain chat models attach to their messages (``AIMessage.usage_metadata``) or, for
older integrations, from ``llm_output["token_usage"]``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult


@dataclass(frozen=True)
class CallUsage:
    """Tokens of one model call."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class TokenUsage:
    """Thread-safe sum of the calls of one job; ``calls`` keeps each call's figures in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[CallUsage] = []

    def add(self, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            self.calls.append(CallUsage(max(prompt_tokens, 0), max(completion_tokens, 0)))

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def prompt_tokens(self) -> int:
        return sum(call.prompt_tokens for call in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(call.completion_tokens for call in self.calls)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "calls": self.call_count,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def usage_of(result: LLMResult) -> CallUsage | None:
    """Tokens of one finished call, or ``None`` when the provider reported none."""
    prompt = completion = 0
    found = False
    for generations in result.generations:
        for generation in generations:
            message = generation.message if isinstance(generation, ChatGeneration) else None
            if isinstance(message, AIMessage) and message.usage_metadata:
                prompt += message.usage_metadata.get("input_tokens", 0)
                completion += message.usage_metadata.get("output_tokens", 0)
                found = True
    if not found and result.llm_output:
        reported = result.llm_output.get("token_usage") or {}
        if reported:
            prompt = int(reported.get("prompt_tokens", 0))
            completion = int(reported.get("completion_tokens", 0))
            found = True
    return CallUsage(prompt, completion) if found else None


class TokenUsageCallback(BaseCallbackHandler):
    """LangChain callback that adds every finished call's tokens to a ``TokenUsage``."""

    # Run in the calling thread even under async code, so the accumulator never lags the call.
    run_inline = True

    def __init__(self, usage: TokenUsage) -> None:
        self.usage = usage

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        call = usage_of(response)
        if call is not None:
            self.usage.add(call.prompt_tokens, call.completion_tokens)
