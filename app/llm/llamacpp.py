"""GGUF models in-process through llama-cpp-python (the ``llamacpp`` extra).

A JSON schema in ``response_format`` becomes a llama.cpp grammar, so the reply is constrained to
the schema token by token. The time limit ends generation cleanly by forcing end-of-sequence once
the deadline passes (only when no grammar is active: a grammar may forbid ending mid-object).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr

from app.errors import MissingExtraError
from app.llm.local import Completion, LocalChatModel, json_schema_of


def _load_llama(model_path: str, n_ctx: int, n_threads: int | None) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise MissingExtraError("llama-cpp-python", "llamacpp") from exc
    return Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)


class LlamaCppChatModel(LocalChatModel):
    n_ctx: int = Field(default=2048, ge=256)
    n_threads: int | None = None

    _llama: Any = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        self._llama = _load_llama(self.model_path, self.n_ctx, self.n_threads)

    @property
    def _llm_type(self) -> str:
        return "amalgam-llamacpp"

    def _complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        stop: list[str] | None,
        response_format: dict[str, Any] | None,
    ) -> Completion:
        schema = json_schema_of(response_format)
        constrained: dict[str, Any] = {}
        if schema is not None:
            constrained["response_format"] = {"type": "json_object", "schema": schema}
        elif response_format and response_format.get("type") == "json_object":
            constrained["response_format"] = {"type": "json_object"}
        else:
            constrained["logits_processor"] = self._deadline_processor()
        reply = self._llama.create_chat_completion(
            messages=messages,
            max_tokens=max_tokens,
            temperature=self.temperature,
            stop=stop or [],
            **constrained,
        )
        usage = reply.get("usage") or {}
        return Completion(
            text=reply["choices"][0]["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def _deadline_processor(self) -> Any:
        deadline = time.monotonic() + self.timeout_s
        eos = self._llama.token_eos()

        def force_eos_after_deadline(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            if time.monotonic() < deadline:
                return scores
            ended = np.full_like(scores, -np.inf)
            ended[eos] = 0.0
            return ended

        from llama_cpp import LogitsProcessorList

        return LogitsProcessorList([force_eos_after_deadline])
