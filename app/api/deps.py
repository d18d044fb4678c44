"""FastAPI dependencies as ``Annotated`` aliases: the request's workspace (its Engine and jobs), the
settings, and the key checks (the guard enforces them before the body is read; these document them in
the OpenAPI schema and hold for any caller that skips the guard)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import APIKeyHeader

from app.config import WORKSPACE_PATTERN, Settings
from app.engine import Engine
from app.keys import ApiKey
from app.workspaces import Workspace, Workspaces

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_workspaces(request: Request) -> Workspaces:
    workspaces: Workspaces = request.app.state.workspaces
    return workspaces


def request_key(request: Request) -> ApiKey | None:
    """The key the guard accepted (None when the server has no keys)."""
    key: ApiKey | None = getattr(request.state, "api_key", None)
    return key


async def get_workspace(request: Request) -> Workspace:
    # Async, so that handing out the workspace takes no worker thread. No lock held across the request: the
    # engine runs questions in parallel and serialises writes itself.
    workspaces: Workspaces = request.app.state.workspaces
    name = request.path_params.get("workspace", workspaces.default)
    if not WORKSPACE_PATTERN.match(name):  # checked here too: this runs before the path's own validation
        raise HTTPException(422, "workspace names are 1-64 letters, digits, '_' or '-' (first a letter or digit)")
    if not workspaces.exists(name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no workspace {name!r}")
    key = request_key(request)
    if key is not None and not key.allows(name):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key may not use workspace {name!r}")
    return workspaces.get(name)


async def get_engine(workspace: Annotated[Workspace, Depends(get_workspace)]) -> Engine:
    return workspace.engine


def workspace_path(
    workspace: Annotated[
        str,
        Path(
            pattern=WORKSPACE_PATTERN.pattern,
            description="A workspace name; the routes without this prefix use the default workspace.",
        ),
    ],
) -> str:
    """Declares the ``{workspace}`` path parameter of the ``/v1/workspaces/{workspace}/...`` routes."""
    return workspace


def require_api_key(key: Annotated[str | None, Depends(_api_key_header)]) -> None:
    """Documents the X-API-Key header in the schema; the guard has checked it already."""


def require_admin(request: Request) -> None:
    """Marks a route that writes: a read-only key gets 403 (the guard finds routes by this dependency)."""
    key = request_key(request)
    if key is not None and not key.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key is read-only")


SettingsDep = Annotated[Settings, Depends(get_settings)]
WorkspacesDep = Annotated[Workspaces, Depends(get_workspaces)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
EngineDep = Annotated[Engine, Depends(get_engine)]
KeyDep = Annotated[ApiKey | None, Depends(request_key)]
AdminDep = Depends(require_admin)
# Marks a writing operation in the OpenAPI schema; the guard reads the schema to refuse read-only keys
# before the body is read. Every route with ``AdminDep`` carries it: ``admin_only()`` gives both.
ADMIN_SCOPE = "x-required-scope"


def admin_only() -> dict[str, Any]:
    """Route keyword arguments of a route that writes: the 403 check and its mark in the schema."""
    return {"dependencies": [AdminDep], "openapi_extra": {ADMIN_SCOPE: "admin"}}
