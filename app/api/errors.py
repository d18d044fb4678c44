"""One error model for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``.

HTTP status codes are chosen here and in the routes only; the core raises the ``AmalgamError`` tree.
Messages never carry server paths (``without_server_paths``) and never echo the request's input.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.routing import allowed_methods
from app.errors import (
    AmalgamError,
    ConfigError,
    IngestError,
    RetrievalError,
    StorageError,
    StoreUnavailableError,
    UnknownComponentError,
    WorkspaceBusyError,
)

log = logging.getLogger(__name__)

# A directory part of an absolute path ("/srv/data/default/uploads/"): clients see file names, not the layout.
_SERVER_DIRS = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\](?:[^/\\\s'\"]+[/\\])+")

# The machine-readable code of each status the API uses (clients branch on ``code``, people read ``message``).
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "store_unavailable",
    507: "insufficient_storage",
}

_AMALGAM_STATUS = (  # most specific first
    (WorkspaceBusyError, 409),
    (StoreUnavailableError, 503),
    (StorageError, 507),
    (UnknownComponentError, 400),
    (RetrievalError, 400),
    (IngestError, 422),
    (ConfigError, 500),
)


def without_server_paths(message: str) -> str:
    """An error message fit for a client: absolute paths cut down to their file names."""
    return _SERVER_DIRS.sub("", message)


def code_for(status: int) -> str:
    return STATUS_CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def status_for(exc: AmalgamError) -> int:
    return next((status for kind, status in _AMALGAM_STATUS if isinstance(exc, kind)), 500)


def error_content(status: int, message: str, details: dict[str, Any] | None = None, code: str = "") -> dict[str, Any]:
    return {"error": {"code": code or code_for(status), "message": message, "details": details or {}}}


def error_bytes(status: int, message: str, details: dict[str, Any] | None = None) -> bytes:
    """The body as bytes, for the ASGI guard that answers before FastAPI runs."""
    return json.dumps(error_content(status, message, details), ensure_ascii=True).encode("ascii")


class AsciiJSONResponse(JSONResponse):
    """JSON in ASCII: a lone surrogate in a message must not break the response's encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(AmalgamError)
    def _amalgam_error(request: Request, exc: AmalgamError) -> JSONResponse:
        status = status_for(exc)
        details = {"kind": type(exc).__name__}
        return AsciiJSONResponse(error_content(status, without_server_paths(str(exc)), details), status_code=status)

    @api.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The input is not echoed back (it may be huge, or hold a lone surrogate that UTF-8 cannot carry).
        fields = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        message = "; ".join(f"{'.'.join(map(str, f['loc']))}: {f['msg']}" for f in fields)
        body = error_content(422, message or "invalid request", {"fields": fields})
        return AsciiJSONResponse(jsonable_encoder(body), status_code=422)

    @api.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        details: dict[str, Any] = {}
        if exc.status_code == 405:  # Starlette lists only the first matching route's methods
            allowed = allowed_methods(api, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            details["allowed"] = allowed
        message = without_server_paths(str(exc.detail))
        return AsciiJSONResponse(error_content(exc.status_code, message, details), exc.status_code, headers)

    @api.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for the operator; the client learns only that it was not its fault.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return AsciiJSONResponse(error_content(500, "internal server error"), status_code=500)
