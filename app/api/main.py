"""The FastAPI application: routers gathered here, errors mapped to HTTP codes here and nowhere else."""

from __future__ import annotations

import threading

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app.api.deps import require_api_key
from app.api.routes import ask, documents, health
from app.config import Settings, load_settings
from app.engine import Engine
from app.errors import (
    AmalgamError,
    ConfigError,
    IngestError,
    RetrievalError,
    StoreUnavailableError,
    UnknownComponentError,
)

_STATUS = (  # most specific first
    (StoreUnavailableError, 503),
    (UnknownComponentError, 400),
    (RetrievalError, 400),
    (IngestError, 422),
    (ConfigError, 500),
)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or load_settings()
    api = FastAPI(title="Amalgam", version="0.1.0", description="GraphRAG knowledge fusion: ask with citations.")
    api.state.settings = settings
    api.state.engine = engine or Engine(settings)
    api.state.engine_lock = threading.Lock()

    @api.exception_handler(AmalgamError)
    def _amalgam_error(request: Request, exc: AmalgamError) -> JSONResponse:
        code = next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=code)

    api.include_router(health.router)
    protected = [Depends(require_api_key)]
    api.include_router(ask.router, dependencies=protected)
    api.include_router(documents.router, dependencies=protected)
    return api
