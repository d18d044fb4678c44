"""Expert models loaded once and kept under a memory budget (least recently used unloaded first).

Experts that share a backend (the same checkpoint folder, GGUF file or endpoint and model) share one loaded
model. A remote (OpenAI-compatible) expert costs no local memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from langchain_core.language_models import BaseChatModel

from app.config import Settings
from app.experts.registry import Expert, OpenAIBackend


def backend_key(expert: Expert) -> str:
    backend = expert.backend
    if isinstance(backend, OpenAIBackend):
        return f"openai:{backend.base_url}#{backend.model}"
    return f"{backend.kind}:{backend.path}"


def model_bytes(chat_model: Any) -> int:
    """Bytes of a loaded local model's parameters (0 for a remote one)."""
    inner = getattr(chat_model, "_model", None)
    if inner is None:
        return 0
    return int(sum(p.numel() * p.element_size() for p in inner.parameters()))


class ExpertPool:
    def __init__(self, settings: Settings, budget_bytes: int) -> None:
        self.settings = settings
        self.budget_bytes = budget_bytes
        self._loaded: OrderedDict[str, tuple[BaseChatModel, int]] = OrderedDict()
        self._lock = threading.Lock()

    def chat_model(self, expert: Expert) -> BaseChatModel:
        key = backend_key(expert)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key][0]
            model = build_expert_model(self.settings, expert)
            self._loaded[key] = (model, model_bytes(model))
            self._evict(keep=key)
            return model

    @property
    def loaded(self) -> list[str]:
        return list(self._loaded)

    @property
    def used_bytes(self) -> int:
        return sum(size for _, size in self._loaded.values())

    def _evict(self, keep: str) -> None:
        while self.used_bytes > self.budget_bytes and len(self._loaded) > 1:
            oldest = next(k for k in self._loaded if k != keep)
            del self._loaded[oldest]


def build_expert_model(settings: Settings, expert: Expert) -> BaseChatModel:
    """A LangChain chat model for the expert's backend, with the server's timeout, retries and token limit."""
    backend = expert.backend
    if isinstance(backend, OpenAIBackend):
        from app.llm.factory import build_chat_model

        remote = settings.model_copy(
            update={
                "llm_provider": "openai",
                "llm_model": backend.model,
                "llm_base_url": backend.base_url,
                "llm_api_key": settings.llm_api_key or "not-needed",
            }
        )
        return build_chat_model(remote, max_tokens=settings.llm_max_tokens)
    from app.llm.hf import HFChatModel

    return HFChatModel(
        model_path=str(backend.path),
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        max_retries=0,  # a local model that failed once fails again; the general expert takes over
        timeout_s=settings.llm_timeout_s,
        max_concurrency=1,
    )
