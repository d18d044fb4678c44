"""A small client of Amalgam's REST API: the UI talks to the API only through this."""

from __future__ import annotations

from typing import Any

import httpx


class AmalgamClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", api_key: str = "", timeout: float = 120.0) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def health(self) -> dict[str, Any]:
        return self._get("/healthz")

    def ask(self, question: str, top_k: int = 5, mode: str | None = None) -> dict[str, Any]:
        response = self._http.post("/v1/ask", json={"question": question, "top_k": top_k, "mode": mode})
        response.raise_for_status()
        return dict(response.json())

    def documents(self) -> list[dict[str, Any]]:
        return list(self._get("/v1/documents"))  # type: ignore[arg-type]

    def upload(self, filename: str, data: bytes) -> dict[str, Any]:
        response = self._http.post("/v1/documents", files={"file": (filename, data)})
        response.raise_for_status()
        return dict(response.json())

    def delete(self, doc_id: str) -> dict[str, Any]:
        response = self._http.delete(f"/v1/documents/{doc_id}")
        response.raise_for_status()
        return dict(response.json())

    def _get(self, path: str) -> Any:
        response = self._http.get(path)
        response.raise_for_status()
        return response.json()
