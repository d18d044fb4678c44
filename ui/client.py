"""A small client of Amalgam's REST API: the UI talks to the API only through this."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

DEFAULT_WORKSPACE = ""  # the server's default workspace: the routes without a workspace prefix


class ApiError(Exception):
    """An error answer of the API, read from its error model ``{"error": {"code", "message", "details"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status, self.code, self.message = status, code, message


def _raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.text[:300] or response.reason_phrase
    raise ApiError(response.status_code, code, message)


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """``(event, data)`` pairs of a server-sent event stream whose data are JSON."""
    event, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif not line and data:
            yield event, json.loads("\n".join(data))
            event, data = "message", []
    if data:
        yield event, json.loads("\n".join(data))


class AmalgamClient:
    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        api_key: str = "",
        workspace: str = DEFAULT_WORKSPACE,
        timeout: float = 120.0,
    ) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self.base_url, self.workspace = base_url, workspace
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    @property
    def prefix(self) -> str:
        return f"/v1/workspaces/{self.workspace}" if self.workspace else "/v1"

    def in_workspace(self, workspace: str) -> AmalgamClient:
        other = AmalgamClient.__new__(AmalgamClient)
        other.base_url, other.workspace, other._http = self.base_url, workspace, self._http
        return other

    # -- plumbing ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        _raise_for_error(response)
        return response.json()

    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        with self._http.stream(method, path, **kwargs) as response:
            if not response.is_success:
                response.read()
                _raise_for_error(response)
            yield from sse_events(response.iter_lines())

    # -- service ----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/healthz"))

    def workspaces(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/workspaces"))

    def create_workspace(self, name: str) -> dict[str, Any]:
        return dict(self._call("PUT", f"/v1/workspaces/{name}"))

    # -- questions --------------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, mode: str | None = None) -> dict[str, Any]:
        return dict(self._call("POST", f"{self.prefix}/ask", json={"question": question, "top_k": top_k, "mode": mode}))

    def chat(
        self, question: str, history: list[dict[str, str]], top_k: int | None = None, mode: str | None = None
    ) -> dict[str, Any]:
        body = {"question": question, "history": history, "top_k": top_k, "mode": mode, "stream": False}
        return dict(self._call("POST", f"{self.prefix}/chat", json=body))

    def chat_stream(
        self, question: str, history: list[dict[str, str]], top_k: int | None = None, mode: str | None = None
    ) -> Iterator[tuple[str, Any]]:
        """``(event, data)``: ``token`` (text), ``sources``, ``route`` (only with experts), ``done``."""
        body = {"question": question, "history": history, "top_k": top_k, "mode": mode, "stream": True}
        return self._stream("POST", f"{self.prefix}/chat", json=body)

    # -- documents --------------------------------------------------------------------------------
    def documents(self) -> list[dict[str, Any]]:
        return list(self._call("GET", f"{self.prefix}/documents"))

    def upload(self, filename: str, data: bytes) -> dict[str, Any]:
        return dict(self._call("POST", f"{self.prefix}/documents", files={"file": (filename, data)}))

    def delete(self, doc_id: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"{self.prefix}/documents/{doc_id}"))

    # -- graph ------------------------------------------------------------------------------------
    def entities(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return list(self._call("GET", f"{self.prefix}/graph/entities", params={"q": query, "limit": limit}))

    def entity(self, entity_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"{self.prefix}/graph/entities/{entity_id}"))

    def neighbourhood(self, entity_id: str, limit: int = 40) -> dict[str, Any]:
        path = f"{self.prefix}/graph/entities/{entity_id}/neighbourhood"
        return dict(self._call("GET", path, params={"limit": limit}))

    def subgraph(self, chunk_ids: list[str]) -> dict[str, Any]:
        return dict(self._call("POST", f"{self.prefix}/graph/subgraph", json={"chunk_ids": chunk_ids}))

    def communities(self, level: int | None = None) -> list[dict[str, Any]] | None:
        """Communities with summaries, or None when this server has no communities endpoint (404)."""
        params = {"level": level} if level is not None else {}
        try:
            return list(self._call("GET", f"{self.prefix}/communities", params=params)["communities"])
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    # -- jobs -------------------------------------------------------------------------------------
    def jobs(self) -> list[dict[str, Any]]:
        return list(self._call("GET", f"{self.prefix}/jobs"))

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"{self.prefix}/jobs/{job_id}"))

    def create_job(self, paths: list[str], name: str = "") -> dict[str, Any]:
        return dict(self._call("POST", f"{self.prefix}/jobs", json={"paths": paths, "name": name}))

    def upload_job(self, files: list[tuple[str, bytes]], name: str = "") -> dict[str, Any]:
        parts = [("files", (filename, data)) for filename, data in files]
        return dict(self._call("POST", f"{self.prefix}/jobs/uploads", files=parts, data={"name": name}))

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"{self.prefix}/jobs/{job_id}/cancel"))

    def retry_job(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"{self.prefix}/jobs/{job_id}/retry-failed"))
