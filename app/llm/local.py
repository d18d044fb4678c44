"""A small LangChain chat model base for in-process backends (transformers, llama.cpp).

Subclasses implement ``_complete`` on plain role/content dicts. The base adds what every provider
must have: a concurrency limit (in-process models are not safe to call from many threads at once),
retries with exponential backoff, a per-call time limit passed to the backend, and token usage on
every message so that ``TokenUsageCallback`` can account for it.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

from app.llm.retry import call_with_retry

ROLE_BY_MESSAGE_TYPE = {"system": "system", "human": "user", "ai": "assistant"}


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int


def to_chat_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as the role/content dicts chat templates expect."""
    return [{"role": ROLE_BY_MESSAGE_TYPE.get(m.type, "user"), "content": m.text} for m in messages]


class LocalChatModel(BaseChatModel):
    model_path: str
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    max_retries: int = Field(default=2, ge=0)
    timeout_s: float = Field(default=60.0, gt=0)
    max_concurrency: int = Field(default=1, ge=1)

    _slots: threading.BoundedSemaphore = PrivateAttr()

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        self._slots = threading.BoundedSemaphore(self.max_concurrency)

    @abstractmethod
    def _complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        stop: list[str] | None,
        response_format: dict[str, Any] | None,
    ) -> Completion:
        """Generate one reply. ``response_format`` is OpenAI-style; backends that cannot constrain
        decoding ignore it (the caller parses tolerantly either way)."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = to_chat_dicts(messages)
        max_tokens = int(kwargs.get("max_tokens") or self.max_tokens)
        response_format = kwargs.get("response_format")

        def once() -> Completion:
            with self._slots:
                return self._complete(chat, max_tokens=max_tokens, stop=stop, response_format=response_format)

        done = call_with_retry(once, max_retries=self.max_retries)
        usage = {
            "input_tokens": done.prompt_tokens,
            "output_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens,
        }
        message = AIMessage(content=done.text, usage_metadata=usage)  # type: ignore[arg-type]
        token_usage = {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens}
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"token_usage": token_usage, "model_name": self.model_path},
        )

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "max_tokens": self.max_tokens, "temperature": self.temperature}


def json_schema_of(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """The JSON schema inside an OpenAI-style ``response_format``, if it carries one."""
    if not response_format:
        return None
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    schema = response_format.get("schema")
    return schema if isinstance(schema, dict) else None
