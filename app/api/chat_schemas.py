"""HTTP shapes of chat: a message history in, a cited answer to its standalone question out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from app.api.schemas import AskResponse, RetrievalMode, require_unicode
from app.chat import ChatMessage, RewrittenBy

MAX_MESSAGES = 50


class ChatRequest(BaseModel):
    question: str = Field(
        min_length=1, max_length=20_000, pattern=r"\S", description="The user's new message (not only whitespace)."
    )
    history: list[ChatMessage] = Field(
        default_factory=list,
        max_length=MAX_MESSAGES,
        description="The conversation before it, oldest first (user and assistant messages).",
    )
    top_k: int | None = Field(default=None, ge=1, le=50, description="Evidence chunks to cite; configured if unset.")
    mode: RetrievalMode | None = Field(default=None, description="Retrieval mode; the configured default if unset.")
    stream: bool = Field(default=True, strict=True, description="Server-sent events (true) or one JSON answer (false).")

    @field_validator("question")
    @classmethod
    def _encodable(cls, value: str) -> str:
        return require_unicode(value)

    @property
    def messages(self) -> list[ChatMessage]:
        return [*self.history, ChatMessage(role="user", content=self.question)]


class ChatResponse(AskResponse):
    """An answer to the conversation's last question, and the standalone question it was answered as."""

    standalone_question: str = Field(description="The last question rewritten to stand alone (or as asked).")
    rewritten_by: RewrittenBy = Field(description="'none' (asked as is), 'rules' (offline rewrite) or 'llm'.")
    # A plain dict here (the core's ``Route`` has the same fields), so chat stays decoupled from app/experts.
    route: dict[str, Any] | None = Field(  # type: ignore[assignment]
        default=None, description="The expert the router chose, when experts exist."
    )


STREAM_DESCRIPTION = (
    "Server-sent events (text/event-stream): `token` (data: a JSON string, a piece of the answer), then one "
    "`sources` ({sources, entities, notes, mode, question}), one `route` ({...}) only when the answer was "
    "routed to an expert, and one `done` ({question, standalone_question, rewritten_by, generated_by, answer})."
)

# One server-sent event as clients (and schemathesis) read it: the event's name and its JSON data as text.
STREAM_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["token", "sources", "route", "done"]},
        "data": {"type": "string", "description": "JSON: a string for token, an object for the others."},
    },
    "required": ["event", "data"],
}
