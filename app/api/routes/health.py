from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(settings: SettingsDep) -> dict[str, str]:
    return {"status": "ok", "workspace": settings.workspace, "graph_backend": settings.graph_backend}
