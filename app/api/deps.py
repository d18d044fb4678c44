"""FastAPI dependencies: the shared Engine and the API-key check, as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from app.config import Settings
from app.engine import Engine

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    # One engine per app. No lock here: the engine runs questions in parallel and serialises writes
    # itself. (A lock held across a sync dependency once deadlocked the thread pool under load.) Async, so
    # that handing out the engine takes no worker thread.
    engine: Engine = request.app.state.engine
    return engine


def require_api_key(
    settings: Annotated[Settings, Depends(get_settings)],
    key: Annotated[str | None, Depends(_api_key_header)],
) -> None:
    if settings.api_key and not (key and hmac.compare_digest(key, settings.api_key)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong X-API-Key")


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
