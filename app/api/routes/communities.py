from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import EngineDep
from app.api.schemas import CommunitiesResponse, CommunityInfo

router = APIRouter(tags=["graph"])


class CommunityFilter(BaseModel):
    """The query of ``GET /v1/communities``; an unknown parameter is refused (422), not ignored."""

    model_config = ConfigDict(extra="forbid")
    level: int | None = Field(default=None, ge=0, le=64, description="Only this level (0 = finest); all if unset.")


@router.get("/communities", response_model=CommunitiesResponse)
def list_communities(engine: EngineDep, query: Annotated[CommunityFilter, Query()]) -> CommunitiesResponse:
    """The graph's community hierarchy with summaries, largest first within each level."""
    return CommunitiesResponse(
        communities=[
            CommunityInfo(
                id=c.id,
                level=c.level,
                title=c.title,
                summary=c.summary,
                size=c.size,
                entities=c.entity_names,
                chunk_count=c.chunk_count,
            )
            for c in engine.list_communities(query.level)
        ]
    )
