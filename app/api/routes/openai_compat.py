"""OpenAI-compatible routes over the workspace's experts: ``GET /models`` lists them (and ``auto``);
``POST /chat/completions`` retrieves evidence for the conversation's last question and lets the named
expert (or the routed one, for ``auto``) answer it with citations, streamed as server-sent events or not."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.answer import to_sources
from app.api.deps import EngineDep
from app.api.openai_schemas import (
    ROUTE_HEADER,
    SOURCES_HEADER,
    AmalgamExtra,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    chunk_payload,
)
from app.api.questions import run_question
from app.api.schemas import error_responses
from app.chat import ChatMessage, standalone_question
from app.engine import Engine
from app.experts.registry import NoRegistryError
from app.experts.serving import AUTO, ExpertService, ExpertStream
from app.results import Route, Source

router = APIRouter(tags=["openai"])


def _experts(engine: Engine) -> ExpertService:
    """The workspace's experts; a workspace without an experts.yaml has none to serve (404)."""
    try:
        return engine.experts
    except NoRegistryError as exc:
        raise HTTPException(
            404, "this workspace has no experts (amalgam experts train, or write experts.yaml)"
        ) from exc


@router.get("/models", response_model=ModelList, responses=error_responses(404))
def list_models(engine: EngineDep) -> ModelList:
    """The experts of the workspace as OpenAI models, and ``auto`` (the router chooses)."""
    registry = _experts(engine).registry
    cards = [ModelCard(id=AUTO, description="Route each question to the best expert.")]
    cards += [ModelCard(id=e.name, description=e.description) for e in registry.experts]
    return ModelList(data=cards)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}}, **error_responses(400, 404)},
)
async def chat_completions(request: ChatCompletionRequest, engine: EngineDep, response: Response, http: Request) -> Any:
    """Answer the last user message from the workspace's documents with the named or routed expert. The
    route and the sources come in the ``amalgam`` field (each stream chunk's last one) and in headers."""
    experts = await run_in_threadpool(_experts, engine)
    known = experts.model_names
    if request.model not in known:
        raise HTTPException(400, f"unknown model {request.model!r}; known: {', '.join(known)}")
    question = _standalone(request)
    result = await run_question(http, engine.retrieve, question, top_k=request.top_k, mode=request.mode)
    answer = await run_in_threadpool(experts.stream, result, request.model)
    sources = to_sources(answer.evidence)
    headers = _headers(answer.route, sources)
    if request.stream:
        return StreamingResponse(_events(answer, sources, question), media_type="text/event-stream", headers=headers)
    response.headers.update(headers)
    text = (await run_in_threadpool("".join, answer.pieces)).strip()  # the pieces come from the model as it writes
    return ChatCompletion(
        id=_completion_id(),
        created=int(time.time()),
        model=answer.route.expert,
        choices=[Choice(message=AssistantMessage(content=text))],
        amalgam=AmalgamExtra(route=answer.route, sources=sources, question=question),
    )


def _standalone(request: ChatCompletionRequest) -> str:
    """The last question, rewritten from the conversation (offline rules) when it is a follow-up."""
    turns = [ChatMessage(role=m.role, content=m.text) for m in request.messages if m.role in ("user", "assistant")]
    return standalone_question(turns).question


def _events(answer: ExpertStream, sources: list[Source], question: str) -> Iterator[str]:
    completion_id, created, model = _completion_id(), int(time.time()), answer.route.expert
    yield _sse(chunk_payload(completion_id, created, model, {"role": "assistant", "content": ""}))
    for piece in answer.pieces:
        if piece:
            yield _sse(chunk_payload(completion_id, created, model, {"content": piece}))
    last = chunk_payload(completion_id, created, model, {}, finish="stop")
    last["amalgam"] = AmalgamExtra(route=answer.route, sources=sources, question=question).model_dump(mode="json")
    yield _sse(last)
    yield "data: [DONE]\n\n"


def _headers(route: Route, sources: list[Source]) -> dict[str, str]:
    brief = {"expert": route.expert, "router": route.router, "confidence": route.confidence, "scores": route.scores}
    cited = [{"n": n, "chunk_id": s.chunk_id, "title": s.title} for n, s in enumerate(sources, start=1)]
    return {ROUTE_HEADER: _ascii_json(brief), SOURCES_HEADER: _ascii_json(cited)}


def _ascii_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"
