"""The API's routes as the OpenAPI schema lists them: the one public view of them that holds across FastAPI
versions (recent ones keep included routers as lazy objects, not flat routes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.api.deps import ADMIN_SCOPE


def operations(api: FastAPI) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    """Every documented operation as (path regex, METHOD, operation), read from the OpenAPI schema: the one
    public view of the routes that holds in every FastAPI version (included routers are lazy objects)."""
    found: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
    for path, methods in api.openapi()["paths"].items():
        found.extend((_regex(path), method.upper(), operation) for method, operation in methods.items())
    return found


def write_routes(api: FastAPI) -> Callable[[str, str], bool]:
    """Whether a method and path reach a route that writes (marked ``ADMIN_ONLY``), for the guard to refuse
    read-only keys before the body is read. The schema is read once, on the first request."""
    found: list[tuple[re.Pattern[str], str]] = []

    def writes(method: str, path: str) -> bool:
        if not found:
            found.extend((regex, verb) for regex, verb, op in operations(api) if op.get(ADMIN_SCOPE) == "admin")
        return any(method == verb and regex.match(path) for regex, verb in found)

    return writes


def allowed_methods(api: FastAPI, path: str) -> list[str]:
    """The documented methods of the most specific template that matches ``path``: the one with the fewest
    parameters (``/v1/jobs/uploads`` is that path, not ``/v1/jobs/{job_id}``)."""
    matching = [(template.count("{"), method) for regex, method, template in _templates(api) if regex.match(path)]
    fewest = min((params for params, _ in matching), default=0)
    return sorted({method for params, method in matching if params == fewest})


def _templates(api: FastAPI) -> list[tuple[re.Pattern[str], str, str]]:
    return [
        (_regex(path), method.upper(), path) for path, methods in api.openapi()["paths"].items() for method in methods
    ]


def _regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
