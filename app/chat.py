"""Chat: a follow-up question rewritten into a standalone one from the conversation so far.

With an LLM configured, the model rewrites it. Offline, a plain rule does: a follow-up that leans on the
conversation (a pronoun such as "she" or "it", a "there" or "that", or an opening "and ..."/"what about
...") gets the names of the previous question, and of the first sentence of the previous answer, put in
front of it ("Ingrid Solberg, Halvorsen Viaduct: where was she born?"). That resolves nothing for certain:
it gives retrieval the names the follow-up points at, which is what retrieval needs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

log = logging.getLogger(__name__)

Role = Literal["user", "assistant"]
RewrittenBy = Literal["none", "rules", "llm"]
MAX_NAMES = 4
MAX_HISTORY_MESSAGES = 8  # what the LLM sees of the conversation
MAX_MESSAGE_CHARS_IN_PROMPT = 600

_REFERRING = frozenset("he she it they him her them his hers its their theirs there this that these those then".split())
_CONTINUATIONS = ("and ", "what about ", "how about ", "also ", "and what ")
# Capitalised runs, allowing "of"/"the"/"de"/"van"/"von" inside ("Bank of England", "Ludwig van Beethoven").
_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:of|the|de|van|von|da|du|del|la|le)\s+)*[A-Z][\w'’-]*)*")
_NOT_NAMES = frozenset(
    "who what where when which why how whom whose is was are were did does do can could would will should "
    "the a an in on at of for and but or if it he she they i we you this that these those there".split()
)
_CITATION = re.compile(r"\s*\[\d+\]")
REWRITE_PROMPT = (
    "Rewrite the user's last question so that it can be understood without the conversation: replace "
    "pronouns and references with the names they stand for. Keep its meaning and language. Reply with the "
    "question only.\n\nConversation:\n{history}\n\nLast question: {question}\nStandalone question:"
)


class ChatMessage(BaseModel):
    role: Role
    content: str = Field(max_length=20_000)

    @field_validator("content")
    @classmethod
    def _encodable(cls, value: str) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("not valid Unicode text (lone surrogate)") from exc
        return value


class Standalone(BaseModel):
    question: str
    rewritten_by: RewrittenBy = "none"


def names_in(text: str) -> list[str]:
    """Capitalised names in ``text``, a leading question word or article dropped ("Who designed X" -> X)."""
    found: list[str] = []
    for match in _NAME.finditer(_CITATION.sub("", text)):
        words = match.group(0).split()
        while words and words[0].lower() in _NOT_NAMES:
            words = words[1:]
        name = " ".join(words).removesuffix("'s").removesuffix("’s")
        if name and name.lower() not in _NOT_NAMES and name not in found:
            found.append(name)
    return found


def needs_context(question: str) -> bool:
    lowered = question.strip().lower()
    words = set(re.findall(r"[a-z']+", lowered))
    return bool(words & _REFERRING) or lowered.startswith(_CONTINUATIONS)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def rule_rewrite(question: str, history: Sequence[ChatMessage]) -> Standalone:
    """The offline rewrite: names of the previous turn put in front of a follow-up that refers back."""
    if not needs_context(question):
        return Standalone(question=question)
    previous_question = next((m.content for m in reversed(history) if m.role == "user"), "")
    previous_answer = next((m.content for m in reversed(history) if m.role == "assistant"), "")
    already = question.lower()
    names = [
        n
        for n in dict.fromkeys(names_in(previous_question) + names_in(_first_sentence(previous_answer)))
        if n.lower() not in already
    ][:MAX_NAMES]
    if not names:
        return Standalone(question=question)
    return Standalone(question=f"{', '.join(names)}: {question.strip()}", rewritten_by="rules")


def llm_rewrite(question: str, history: Sequence[ChatMessage], chat_model: Any) -> Standalone | None:
    """The model's rewrite, or None when it fails or answers something that is not one question."""
    shown = "\n".join(f"{m.role}: {m.content[:MAX_MESSAGE_CHARS_IN_PROMPT]}" for m in history[-MAX_HISTORY_MESSAGES:])
    try:
        reply = str(chat_model.invoke(REWRITE_PROMPT.format(history=shown, question=question)).content).strip()
    except Exception as exc:  # any provider error: the rule rewrite still serves the user
        log.warning("question rewrite by the LLM failed (%s); using the offline rule", type(exc).__name__)
        return None
    reply = reply.strip().strip('"').splitlines()[0].strip() if reply else ""
    if not reply or len(reply) > 4 * len(question) + 200:
        return None
    return Standalone(question=reply, rewritten_by="llm")


def standalone_question(messages: Sequence[ChatMessage], chat_model: Any = None) -> Standalone:
    """The last user message as a question that stands alone, rewritten from the messages before it."""
    question, history = messages[-1].content, list(messages[:-1])
    if not any(m.role == "user" for m in history):
        return Standalone(question=question)
    if chat_model is not None:
        rewritten = llm_rewrite(question, history, chat_model)
        if rewritten is not None:
            return rewritten
    return rule_rewrite(question, history)
