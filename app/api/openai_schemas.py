"""HTTP shapes of the OpenAI-compatible routes (``/v1/chat/completions``, ``/v1/models``).

They follow OpenAI's chat completion objects, so the official ``openai`` client reads them unchanged; what
Amalgam adds rides in an extra field, ``amalgam`` (the route and the cited sources), which the client keeps
as an extra attribute, and in the ``X-Amalgam-Route`` header.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.schemas import RetrievalMode, require_unicode
from app.results import Route, Source

ROUTE_HEADER = "X-Amalgam-Route"
SOURCES_HEADER = "X-Amalgam-Sources"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = "text"
    text: str = ""


class ChatCompletionMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_calls... are accepted and not used
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    # Sampling options the client may send (temperature, top_p, stop, ...) are accepted and not used.
    model_config = ConfigDict(extra="ignore")
    model: str = Field(description="An expert's name, or 'auto' to let the router choose.")
    messages: list[ChatCompletionMessage] = Field(min_length=1, max_length=50)
    stream: bool = False
    top_k: int | None = Field(default=None, ge=1, le=50, description="Amalgam: evidence chunks to cite.")
    mode: RetrievalMode | None = Field(default=None, description="Amalgam: retrieval mode.")

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[ChatCompletionMessage]) -> list[ChatCompletionMessage]:
        if messages[-1].role != "user" or not messages[-1].text.strip():
            raise ValueError("the last message must be a user message with text (the question)")
        for message in messages:
            require_unicode(message.text)
        return messages


class AmalgamExtra(BaseModel):
    """What Amalgam adds to a completion: the route and the sources its [n] citations number."""

    route: Route
    sources: list[Source] = Field(default_factory=list)
    question: str = Field(default="", description="The standalone question that was retrieved for.")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = Field(description="The expert that answered.")
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)
    amalgam: AmalgamExtra


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "amalgam"
    description: str = ""


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def chunk_payload(
    completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [choice],
    }
