from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(settings: SettingsDep) -> dict[str, str]:
    """Async, so that it answers even when every worker thread is busy with questions."""
    return {"status": "ok", "workspace": settings.workspace, "graph_backend": settings.graph_backend}
