"""ChatOpenAI adjusted for OpenAI-compatible servers (llama.cpp, vLLM, Ollama's /v1).

Two changes to the request, nothing else:
- A dict ``response_format`` travels in the body untouched instead of switching LangChain to the
  client's ``parse`` helper, which raises on a reply cut off by the token limit; the extractor
  repairs such replies instead of losing them.
- With a custom ``base_url`` the token limit is sent as ``max_tokens``: ChatOpenAI renames it to
  ``max_completion_tokens``, which llama-cpp-python's server ignores (it then generates until the
  context is full).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_openai import ChatOpenAI


class CompatibleChatOpenAI(ChatOpenAI):
    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        extra_body = dict(payload.pop("extra_body", None) or {})
        if isinstance(payload.get("response_format"), dict):
            extra_body["response_format"] = payload.pop("response_format")
        if self.openai_api_base and "max_completion_tokens" in payload:
            extra_body["max_tokens"] = payload.pop("max_completion_tokens")
        if extra_body:
            payload["extra_body"] = extra_body
        return payload
