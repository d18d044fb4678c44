"""A pure ASGI guard in front of the API: checks the API key and the body size before the app reads the body.

FastAPI parses a multipart upload before any dependency runs, so a key check in a dependency would let an
unauthenticated client make the server read (and spool) a 100 MB body first. Here the key is checked from
the headers alone, and a body larger than the limit is refused as soon as its declared length, or the bytes
actually received, pass it.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = ("/healthz", "/docs", "/redoc", "/openapi.json")
# A directory part of an absolute path ("/srv/data/default/uploads/"): clients see file names, not the layout.
_SERVER_DIRS = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\](?:[^/\\\s'\"]+[/\\])+")


def without_server_paths(message: str) -> str:
    """An error message fit for a client: absolute paths cut down to their file names."""
    return _SERVER_DIRS.sub("", message)


def key_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so the time taken reveals nothing about the key."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class RequestGuard:
    def __init__(self, app: ASGIApp, *, api_key: str, max_body_bytes: int) -> None:
        self.app, self.api_key, self.max_body_bytes = app, api_key, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if self.api_key and not key_matches(headers.get("x-api-key"), self.api_key):
            await _reply(send, 401, "missing or wrong X-API-Key", "Unauthorized")
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, f"request body exceeds {self.max_body_bytes} bytes", "PayloadTooLarge")
            return
        started, received = False, 0
        too_large = f"request body exceeds {self.max_body_bytes} bytes"

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
            await _reply(send, 413, too_large, "PayloadTooLarge")


async def _reply(send: Send, status: int, detail: str, error: str) -> None:
    body = json.dumps({"detail": detail, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
