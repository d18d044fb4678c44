"""The FastAPI application: routers gathered here, errors mapped to HTTP codes here and nowhere else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.deps import require_api_key
from app.api.guard import RequestGuard, without_server_paths
from app.api.routes import ask, communities, documents, health, jobs
from app.api.schemas import error_responses
from app.config import Settings, load_settings
from app.engine import Engine
from app.errors import (
    AmalgamError,
    ConfigError,
    IngestError,
    RetrievalError,
    StorageError,
    StoreUnavailableError,
    UnknownComponentError,
)
from app.jobs import Jobs
from app.jobs.background import BackgroundJobs


class AsciiJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


_STATUS = (  # most specific first
    (StoreUnavailableError, 503),
    (StorageError, 507),
    (UnknownComponentError, 400),
    (RetrievalError, 400),
    (IngestError, 422),
    (ConfigError, 500),
)


def allowed_methods(api: FastAPI, path: str) -> list[str]:
    """Every method some route serves at ``path``."""
    routes = [r for r in api.routes if isinstance(r, APIRoute) and r.path_regex.match(path)]
    return sorted({method for route in routes for method in route.methods or ()})


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.jobs.shutdown()  # the running job stops after its batch and stays resumable

    description = "GraphRAG knowledge fusion: ask with citations."
    api = FastAPI(title="Amalgam", version="0.1.0", description=description, lifespan=lifespan)
    api.state.settings = settings
    api.state.engine = engine or Engine(settings)
    api.state.jobs = BackgroundJobs(Jobs(api.state.engine))  # jobs run on its thread, never inside a request

    @api.exception_handler(AmalgamError)
    def _amalgam_error(request: Request, exc: AmalgamError) -> JSONResponse:
        code = next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse({"detail": without_server_paths(str(exc)), "error": type(exc).__name__}, status_code=code)

    @api.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The input is not echoed back (it may be huge, or hold a lone surrogate that UTF-8 cannot carry).
        fields = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, f['loc']))}: {f['msg']}" for f in fields)
        body = {"detail": detail, "error": "ValidationError", "fields": fields}
        return AsciiJSONResponse(jsonable_encoder(body), status_code=422)

    @api.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = {"detail": without_server_paths(str(exc.detail)), "error": HTTPStatus(exc.status_code).phrase}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette lists only the first matching route's methods
            headers["Allow"] = ", ".join(allowed_methods(api, request.url.path))
        return AsciiJSONResponse(body, status_code=exc.status_code, headers=headers)

    # Multipart overhead on top of the largest upload; every other body is far smaller.
    max_body = settings.upload_max_mb * 1024 * 1024 + 64 * 1024
    api.add_middleware(RequestGuard, api_key=settings.api_key, max_body_bytes=max_body)

    api.include_router(health.router)
    # The guard enforces the key; the dependency documents it in the OpenAPI schema, only when one is set.
    protected = [Depends(require_api_key)] if settings.api_key else []
    common = error_responses(401, 413, 422, 503)
    api.include_router(ask.router, dependencies=protected, responses=common)
    api.include_router(documents.router, dependencies=protected, responses=common)
    api.include_router(jobs.router, dependencies=protected, responses=common)
    api.include_router(communities.router, dependencies=protected, responses=common)
    return api
