"""The graph for people: entity search and detail, an entity's neighbourhood and the subgraph behind an
answer, as nodes and edges ready to draw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.deps import EngineDep
from app.api.questions import run_question
from app.api.schemas import RetrievalMode, error_responses
from app.explore import (
    EntityBrief,
    EntityDetail,
    GraphView,
    entity_detail,
    evidence_subgraph,
    neighbourhood,
    search_entities,
)

router = APIRouter(prefix="/graph", tags=["graph"])
MAX_CHUNK_IDS = 50
ID = r"^[A-Za-z0-9_.:-]{1,128}$"


class SubgraphRequest(BaseModel):
    """The chunk ids an answer cited, or else a question to retrieve them for (neither: an empty graph)."""

    chunk_ids: list[Annotated[str, Field(pattern=ID)]] = Field(default_factory=list, max_length=MAX_CHUNK_IDS)
    question: str | None = Field(default=None, min_length=1, max_length=2000, pattern=r"\S")
    top_k: int | None = Field(default=None, ge=1, le=50)
    mode: RetrievalMode | None = None


class SubgraphResponse(GraphView):
    chunk_ids: list[str] = Field(default_factory=list, description="The evidence chunks the graph is drawn from.")


@router.get("/entities", response_model=list[EntityBrief])
def find_entities(
    engine: EngineDep,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"\S", description="A name or words of one.")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[EntityBrief]:
    """Entities named or aliased ``q`` first, then the nearest by meaning of the name."""
    return search_entities(engine.store, engine.embedder, q, limit)


@router.get("/entities/{entity_id}", response_model=EntityDetail, responses=error_responses(404))
def get_entity(
    entity_id: str,
    engine: EngineDep,
    neighbours: Annotated[int, Query(ge=0, le=200)] = 25,
    evidence: Annotated[int, Query(ge=0, le=100)] = 10,
) -> EntityDetail:
    """An entity's aliases, descriptions, strongest relations and the chunks (document, page) it comes from."""
    detail = entity_detail(engine.store, entity_id, neighbours=neighbours, evidence=evidence)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no entity {entity_id!r}")
    return detail


@router.get("/entities/{entity_id}/neighbourhood", response_model=GraphView, responses=error_responses(404))
def get_neighbourhood(entity_id: str, engine: EngineDep, limit: Annotated[int, Query(ge=1, le=200)] = 40) -> GraphView:
    """The entity and its strongest relations as nodes and edges, for drawing."""
    view = neighbourhood(engine.store, entity_id, limit=limit)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no entity {entity_id!r}")
    return view


@router.post("/subgraph", response_model=SubgraphResponse, responses=error_responses(400))
async def subgraph(request: SubgraphRequest, engine: EngineDep, http: Request) -> SubgraphResponse:
    """The chunks behind an answer, the entities they mention and the relations among them."""
    chunk_ids = request.chunk_ids
    if not chunk_ids and request.question:
        result = await run_question(http, engine.retrieve, request.question, top_k=request.top_k, mode=request.mode)
        chunk_ids = [e.chunk.id for e in result.evidence]
    view = await run_in_threadpool(lambda: evidence_subgraph(engine.store, chunk_ids))
    return SubgraphResponse(**view.model_dump(), chunk_ids=[n.id for n in view.nodes if n.kind == "chunk"])
