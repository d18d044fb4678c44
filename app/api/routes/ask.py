from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.answer import to_sources
from app.api.deps import EngineDep
from app.api.questions import run_question
from app.api.schemas import AskRequest, AskResponse, SearchResponse, error_responses
from app.global_answer import cited_communities
from app.results import Answer

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=AskResponse, responses=error_responses(400))
async def ask(request: AskRequest, engine: EngineDep, http: Request) -> Answer:
    """Answer a question from the workspace's documents, with cited sources."""
    result = await run_question(http, engine.retrieve, request.question, top_k=request.top_k, mode=request.mode)
    return await run_in_threadpool(engine.answer, result)


@router.post("/search", response_model=SearchResponse, responses=error_responses(400))
async def search(request: AskRequest, engine: EngineDep, http: Request) -> SearchResponse:
    """Retrieval only: the cited evidence a question would be answered from, without writing an answer."""
    result = await run_question(http, engine.retrieve, request.question, top_k=request.top_k, mode=request.mode)
    return SearchResponse(
        question=result.question,
        mode=result.mode,
        sources=to_sources(result.evidence),
        entities=result.entities,
        relations=result.relations,
        notes=result.notes,
        latency_ms=round(result.latency_ms, 3),
        communities=cited_communities(result),
    )


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "token events, then one sources event"},
        **error_responses(400),
    },
)
async def ask_stream(request: AskRequest, engine: EngineDep, http: Request) -> StreamingResponse:
    """Server-sent events: ``token`` events with answer text as it is produced, then one ``sources`` event."""
    result = await run_question(http, engine.retrieve, request.question, top_k=request.top_k, mode=request.mode)
    answerer = await run_in_threadpool(lambda: engine.answerer)  # built on first use: not in the event loop

    def events() -> Iterator[str]:
        for piece in answerer.stream(result):
            yield f"event: token\ndata: {json.dumps(piece)}\n\n"
        sources = {
            "sources": [s.model_dump() for s in to_sources(result.evidence)],
            "entities": result.entities,
            "notes": result.notes,
            "mode": result.mode,
            "communities": [c.model_dump() for c in cited_communities(result)],
        }
        yield f"event: sources\ndata: {json.dumps(sources)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
