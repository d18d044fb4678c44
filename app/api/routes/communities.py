from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import EngineDep
from app.api.schemas import CommunitiesResponse, CommunityInfo

router = APIRouter(prefix="/v1", tags=["graph"])


@router.get("/communities", response_model=CommunitiesResponse)
def list_communities(
    engine: EngineDep,
    level: Annotated[int | None, Query(ge=0, le=64, description="Only this level (0 = finest); all if unset.")] = None,
) -> CommunitiesResponse:
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
            for c in engine.list_communities(level)
        ]
    )
