"""The FastAPI application: routers gathered here, errors mapped to HTTP codes in ``app.api.errors``.

Every workspace route is served twice: under ``/v1`` for the default workspace (as before workspaces
existed) and under ``/v1/workspaces/{workspace}`` for any other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.deps import require_api_key, workspace_path
from app.api.errors import install_error_handlers
from app.api.guard import RequestGuard
from app.api.routes import (
    ask,
    chat,
    communities,
    documents,
    graph,
    health,
    job_uploads,
    jobs,
    openai_compat,
    workspaces,
)
from app.api.routing import write_routes
from app.api.schemas import error_responses
from app.config import Settings, load_settings
from app.engine import Engine
from app.keys import KeyRing
from app.workspaces import Workspaces

# The routers that act on one workspace, in the order the OpenAPI schema lists them.
WORKSPACE_ROUTERS: tuple[APIRouter, ...] = (
    ask.router,
    communities.router,
    chat.router,
    graph.router,
    documents.router,
    job_uploads.router,
    jobs.router,
    openai_compat.router,  # /v1/models, /v1/chat/completions over the workspace's experts
)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The API over ``settings``; ``engine`` (optional, e.g. shared by tests) serves the default workspace."""
    settings = settings or load_settings()
    registry = Workspaces(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        registry.shutdown()  # running jobs stop after their batch and stay resumable
        registry.close()

    description = "GraphRAG knowledge fusion: ask and chat with citations, explore the graph, run ingest jobs."
    api = FastAPI(title="Amalgam", version="0.1.0", description=description, lifespan=lifespan)
    api.state.settings = settings
    api.state.workspaces = registry
    api.state.engine = registry.get(settings.workspace).engine  # the default workspace's, as before
    api.state.jobs = registry.get(settings.workspace).jobs
    install_error_handlers(api)

    keys = KeyRing(settings)
    # Multipart overhead on top of the largest upload; every other body is far smaller.
    max_body = settings.upload_max_mb * 1024 * 1024 + 64 * 1024
    api.add_middleware(
        RequestGuard,
        keys=keys,
        default_workspace=settings.workspace,
        writes=write_routes(api),
        max_body_bytes=max_body,
    )
    if settings.cors_origins:  # added last, so it answers preflight requests before the guard asks for a key
        api.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type"],
        )

    api.include_router(health.router)
    # The guard enforces the keys; the dependency documents the header in the schema, when keys exist.
    protected = [Depends(require_api_key)] if keys.enabled else []
    key_errors = (401, 403) if keys.enabled else ()
    common = error_responses(*key_errors, 413, 422, 500, 503)
    api.include_router(workspaces.router, prefix="/v1", dependencies=protected, responses=common)
    in_workspace = [*protected, Depends(workspace_path)]
    for router in WORKSPACE_ROUTERS:
        api.include_router(router, prefix="/v1", dependencies=protected, responses=common)
        api.include_router(
            router,
            prefix="/v1/workspaces/{workspace}",
            dependencies=in_workspace,
            responses={**common, **error_responses(404)},
        )
    return api
