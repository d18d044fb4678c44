"""Workspaces: list those the key may use, create one, and see one's counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import BaseModel

from app.api.deps import KeyDep, WorkspacesDep, admin_only, workspace_path
from app.api.schemas import error_responses

router = APIRouter(prefix="/workspaces", tags=["workspaces"])
WorkspaceName = Annotated[str, Depends(workspace_path)]


class WorkspaceInfo(BaseModel):
    name: str
    default: bool = False


class WorkspaceStats(WorkspaceInfo):
    documents: int = 0
    chunks: int = 0
    entities: int = 0
    relations: int = 0
    communities: int = 0


@router.get("", response_model=list[WorkspaceInfo])
def list_workspaces(registry: WorkspacesDep, key: KeyDep) -> list[WorkspaceInfo]:
    """The workspaces this key may use (all of them without keys)."""
    return [
        WorkspaceInfo(name=name, default=name == registry.default)
        for name in registry.names()
        if key is None or key.allows(name)
    ]


@router.put(
    "/{workspace}",
    response_model=WorkspaceInfo,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": WorkspaceInfo, "description": "It existed already."}, **error_responses(403, 507)},
    **admin_only(),
)
def create_workspace(workspace: WorkspaceName, registry: WorkspacesDep, response: Response) -> WorkspaceInfo:
    """Create an empty workspace (201), or do nothing if it exists (200)."""
    if not registry.create(workspace):
        response.status_code = status.HTTP_200_OK
    return WorkspaceInfo(name=workspace, default=workspace == registry.default)


@router.get("/{workspace}", response_model=WorkspaceStats, responses=error_responses(404))
def get_workspace_stats(workspace: WorkspaceName, registry: WorkspacesDep) -> WorkspaceStats:
    """A workspace's counts of documents, chunks, entities, relations and communities."""
    if not registry.exists(workspace):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no workspace {workspace!r}")
    stats = registry.get(workspace).engine.store.stats()
    counts = stats.model_dump(exclude={"mentions"})
    return WorkspaceStats(name=workspace, default=workspace == registry.default, **counts)
