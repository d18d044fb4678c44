"""A pure ASGI guard in front of the API: checks the API key, its scope and the body size before the app
reads the body.

FastAPI parses a multipart upload before any dependency runs, so a key check in a dependency would let an
unauthenticated (or read-only) client make the server read (and spool) a 100 MB body first. Here the key
is checked from the headers alone: unknown key 401; a workspace outside the key's scope, or a read-only
key on a route that writes, 403; and a body larger than the limit is refused as soon as its declared
length, or the bytes actually received, pass it. The key found is left in the request's state
(``api_key``) for the routes (e.g. listing only the workspaces a key may see).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

from app.api.errors import error_bytes, without_server_paths
from app.keys import KeyRing

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WritePredicate = Callable[[str, str], bool]

OPEN_PATHS = ("/healthz", "/docs", "/redoc", "/openapi.json")
WORKSPACE_PREFIX = re.compile(r"^/v1/workspaces/([^/]+)(?:/|$)")

__all__ = ["RequestGuard", "without_server_paths", "workspace_of"]


def workspace_of(path: str, default: str) -> str | None:
    """The workspace a request path addresses: ``/v1/workspaces/{ws}/...`` names one, ``/v1/workspaces``
    itself none (the listing), every other path the default workspace."""
    if path.rstrip("/") == "/v1/workspaces":
        return None
    found = WORKSPACE_PREFIX.match(path)
    return found.group(1) if found else default


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyRing,
        default_workspace: str,
        writes: WritePredicate,
        max_body_bytes: int,
    ) -> None:
        self.app, self.keys, self.max_body_bytes = app, keys, max_body_bytes
        self.default_workspace, self.writes = default_workspace, writes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        refusal = self._refusal(scope, headers.get("x-api-key") or _bearer(headers.get("authorization", "")))
        if refusal:
            await _reply(send, *refusal)
            return
        declared = headers.get("content-length", "")
        too_large = f"request body exceeds {self.max_body_bytes} bytes"
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, too_large)
            return
        started, received = False, 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                # An HTTPException, because FastAPI turns any other error while it parses a body into a 400.
                raise HTTPException(413, too_large)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except HTTPException as exc:
            if started or exc.status_code != 413:
                raise
            await _reply(send, 413, too_large)

    def _refusal(self, scope: Scope, given: str | None) -> tuple[int, str] | None:
        """Why the request may not go on (status, message), or None. With no key configured, nothing."""
        if not self.keys.enabled:
            return None
        key = self.keys.match(given)
        if key is None:
            return 401, "missing or wrong X-API-Key"
        scope.setdefault("state", {})["api_key"] = key
        workspace = workspace_of(scope["path"], self.default_workspace)
        if workspace is not None and not key.allows(workspace):
            return 403, f"this API key may not use workspace {workspace!r}"
        if not key.admin and self.writes(scope["method"], scope["path"]):
            return 403, "this API key is read-only: uploads, deletes and jobs need an admin key"
        return None


def _bearer(authorization: str) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (what the openai client sends), else None."""
    scheme, _, key = authorization.partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


async def _reply(send: Send, status: int, message: str) -> None:
    body = error_bytes(status, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
