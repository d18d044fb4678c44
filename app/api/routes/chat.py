"""``POST /chat``: a conversation in, a cited answer to its last question out (streamed or as one JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.answer import to_sources
from app.api.chat_schemas import STREAM_DESCRIPTION, STREAM_EVENT_SCHEMA, ChatRequest, ChatResponse
from app.api.deps import EngineDep
from app.api.questions import run_question
from app.api.schemas import error_responses
from app.chat import Standalone, standalone_question

router = APIRouter(tags=["chat"])


def route_of(result: object) -> dict[str, Any] | None:
    """The expert route a result carries, when the router set one (an optional field; absent without experts)."""
    route = getattr(result, "route", None)
    if route is None:
        return None
    if isinstance(route, BaseModel):
        return route.model_dump(mode="json")
    return dict(route) if isinstance(route, dict) else {"name": str(route)}


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={
        200: {
            "description": f"With stream=false, one ChatResponse. {STREAM_DESCRIPTION}",
            "content": {"text/event-stream": {"schema": STREAM_EVENT_SCHEMA}},
        },
        **error_responses(400),
    },
)
async def chat(request: ChatRequest, engine: EngineDep, http: Request) -> Any:
    """Answer the conversation's last question. A follow-up ("where was she born?") is first rewritten to a
    standalone question from the history (by the LLM when one is configured, else by an offline rule)."""
    standalone = await run_in_threadpool(lambda: standalone_question(request.messages, engine.answerer.chat_model))
    result = await run_question(http, engine.retrieve, standalone.question, top_k=request.top_k, mode=request.mode)
    if not request.stream:
        answer = await run_in_threadpool(engine.answer, result)
        return ChatResponse(
            **answer.model_dump(exclude={"question", "route"}),
            question=request.question,
            standalone_question=standalone.question,
            rewritten_by=standalone.rewritten_by,
            route=route_of(answer) or route_of(result),
        )
    return StreamingResponse(_events(engine, request, standalone, result), media_type="text/event-stream")


def _events(engine: Any, request: ChatRequest, standalone: Standalone, result: Any) -> Iterator[str]:
    pieces = []
    for piece in engine.answerer.stream(result):
        pieces.append(piece)
        yield _event("token", piece)
    sources = [s.model_dump() for s in to_sources(result.evidence)]
    context = {"sources": sources, "entities": result.entities, "notes": result.notes, "mode": result.mode}
    yield _event("sources", context | {"question": standalone.question})
    route = route_of(result)
    if route is not None:
        yield _event("route", route)
    done = {
        "question": request.question,
        "standalone_question": standalone.question,
        "rewritten_by": standalone.rewritten_by,
        "generated_by": engine.answerer.generated_by,
        "answer": "".join(pieces),
    }
    yield _event("done", done)
