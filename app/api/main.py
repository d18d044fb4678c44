"""The FastAPI application: routers gathered here, errors mapped to HTTP codes here and nowhere else."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.api.deps import require_api_key
from app.api.guard import RequestGuard, without_server_paths
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


class AsciiJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


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

    @api.exception_handler(AmalgamError)
    def _amalgam_error(request: Request, exc: AmalgamError) -> JSONResponse:
        code = next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse({"detail": without_server_paths(str(exc)), "error": type(exc).__name__}, status_code=code)

    @api.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # ASCII-escaped: the echoed input may hold a lone surrogate, which cannot be written as UTF-8.
        return AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)

    # Multipart overhead on top of the largest upload; every other body is far smaller.
    max_body = settings.upload_max_mb * 1024 * 1024 + 64 * 1024
    api.add_middleware(RequestGuard, api_key=settings.api_key, max_body_bytes=max_body)

    api.include_router(health.router)
    protected = [Depends(require_api_key)]
    api.include_router(ask.router, dependencies=protected)
    api.include_router(documents.router, dependencies=protected)
    return api
