"""Answers from a routed expert: the route is decided, the expert's model (loaded once, ``pool.py``) writes
the answer from the retrieval evidence under today's citation contract (``app/answer.py``: numbered
evidence, ``[n]`` citations, ``sources[n-1]``).

An expert that fails (an endpoint that is down, a checkpoint that will not load) hands over to the general
expert, and the route says so. Evidence that does not fit the expert's context window is dropped from the
lowest rank up (the kept passages keep their numbers), and the route says so too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from app.answer import NO_EVIDENCE, Answerer, answer_prompt, to_sources
from app.config import Settings
from app.errors import AmalgamError, UnknownComponentError
from app.experts.pool import ExpertPool
from app.experts.registry import GENERAL, Expert, ExpertRegistry, load_registry, registry_path
from app.experts.router import Router
from app.experts.routers.registry import RouterContext, build_router
from app.results import Answer, Route
from graph.store.base import GraphStore
from ingest.embedder import Embedder
from retrieval.types import Evidence, RetrievalResult

AUTO = "auto"
REMOTE_CONTEXT_TOKENS = 4096  # assumed for an endpoint whose expert entry gives no context_tokens
PROMPT_OVERHEAD_TOKENS = 64  # the chat template's own tokens around the prompt
MB = 1024 * 1024
TokenCounter = Callable[[str], int]


class ExpertUnavailableError(AmalgamError):
    """Neither the chosen expert nor the general fallback could answer."""


@dataclass
class ExpertStream:
    """A streamed answer whose expert is settled: the first piece was produced before this is returned."""

    route: Route
    evidence: list[Evidence]
    pieces: Iterator[str]


class ExpertService:
    def __init__(self, settings: Settings, registry: ExpertRegistry, router: Router, pool: ExpertPool) -> None:
        self.settings, self.registry, self.router, self.pool = settings, registry, router, pool

    @classmethod
    def open(cls, settings: Settings, store: GraphStore | None, embedder: Embedder) -> ExpertService:
        registry = load_registry(registry_path(settings.workspace_dir, settings.experts_file))
        context = RouterContext(registry, embedder, store, settings.experts_threshold)
        router = build_router(settings.experts_router, context)
        return cls(settings, registry, router, ExpertPool(settings, settings.experts_memory_mb * MB))

    @property
    def model_names(self) -> list[str]:
        return [AUTO, *self.registry.names]

    def resolve(self, result: RetrievalResult, model: str = AUTO) -> Route:
        """The route of a question: the router's (``auto``), or the expert asked for by name."""
        if model == AUTO:
            return self.router.route(result.question, result)
        if model not in self.registry.names:
            raise UnknownComponentError("model", model, self.model_names)
        return Route(expert=model, router="named", scores={model: 1.0}, confidence=1.0, reason="asked for by name")

    def answer(self, result: RetrievalResult, model: str = AUTO) -> Answer:
        done = self.stream(result, model)
        text = "".join(done.pieces).strip()
        return _answer(result, done.route, done.evidence, text)

    def stream(self, result: RetrievalResult, model: str = AUTO) -> ExpertStream:
        route = self.resolve(result, model)
        if not result.evidence:
            return ExpertStream(route, [], iter([NO_EVIDENCE]))
        for expert in self._candidates(route):
            try:
                chat_model = self.pool.chat_model(expert)
                evidence, note = fit_evidence(result.question, result.evidence, expert, chat_model, self.settings)
                pieces = (str(c.content) for c in chat_model.stream(answer_prompt(result.question, evidence)))
                first = next(pieces, "")  # a backend that is down fails here, before anything is sent
            except Exception as exc:  # any backend failure (HTTP, load, OOM) is the fallback's cue
                if expert.name == GENERAL:
                    raise ExpertUnavailableError(f"the general expert failed too: {type(exc).__name__}: {exc}") from exc
                route = _fell_back(route, expert, exc)
                continue
            if note:
                route = route.model_copy(update={"notes": [*route.notes, note]})
            return ExpertStream(route, evidence, chain([first], pieces))
        raise ExpertUnavailableError("no expert could answer")  # unreachable: general is always a candidate

    def _candidates(self, route: Route) -> list[Expert]:
        chosen = self.registry.get(route.expert)
        return [chosen] if chosen.name == GENERAL else [chosen, self.registry.general]


def _fell_back(route: Route, expert: Expert, exc: Exception) -> Route:
    note = (
        f"expert {expert.name!r} is unavailable ({type(exc).__name__}: {str(exc)[:200]}); the general expert answered"
    )
    return route.model_copy(update={"expert": GENERAL, "notes": [*route.notes, note]})


def _answer(result: RetrievalResult, route: Route, evidence: Sequence[Evidence], text: str) -> Answer:
    return Answer(
        question=result.question,
        answer=text or NO_EVIDENCE,
        mode=result.mode,
        sources=to_sources(evidence),
        entities=result.entities,
        notes=[*result.notes, *route.notes],
        generated_by=f"expert:{route.expert}",
        route=route,
    )


def context_window(expert: Expert, chat_model: Any) -> int:
    if expert.context_tokens:
        return expert.context_tokens
    config = getattr(getattr(chat_model, "_model", None), "config", None)
    found = getattr(config, "max_position_embeddings", None)
    return int(found) if found else REMOTE_CONTEXT_TOKENS


def token_counter(chat_model: Any) -> TokenCounter:
    """The model's own tokenizer when it is local; about four characters a token for an endpoint."""
    tokenizer = getattr(chat_model, "_tokenizer", None)
    if tokenizer is None:
        return lambda text: len(text) // 4 + 1
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def fit_evidence(
    question: str, evidence: Sequence[Evidence], expert: Expert, chat_model: Any, settings: Settings
) -> tuple[list[Evidence], str]:
    """The evidence that fits the expert's window with room for the answer, and a note if some was cut."""
    window = context_window(expert, chat_model)
    budget = window - settings.llm_max_tokens - PROMPT_OVERHEAD_TOKENS
    kept = trim_by_rank(question, evidence, token_counter(chat_model), budget)
    if len(kept) == len(evidence) and kept[-1].chunk.text == evidence[len(kept) - 1].chunk.text:
        return kept, ""
    return kept, (
        f"evidence trimmed by rank to {len(kept)} of {len(evidence)} passages to fit {expert.name}'s "
        f"context window ({window} tokens)"
    )


def trim_by_rank(question: str, evidence: Sequence[Evidence], count: TokenCounter, budget: int) -> list[Evidence]:
    """Drop the lowest-ranked passages until the prompt fits; if the best one alone is too long, cut its end."""
    kept = list(evidence)
    while len(kept) > 1 and count(answer_prompt(question, kept)) > budget:
        kept.pop()
    excess = count(answer_prompt(question, kept)) - budget
    if excess > 0:
        text = kept[0].chunk.text
        keep_chars = max(0, int(len(text) * (1 - excess / max(count(text), 1))) - 16)
        chunk = kept[0].chunk.model_copy(update={"text": text[:keep_chars]})
        kept[0] = kept[0].model_copy(update={"chunk": chunk})
    return kept


class ExpertAnswerer(Answerer):
    """The Engine's answerer with ``AMALGAM_EXPERTS`` on: every answer comes from a routed expert."""

    def __init__(self, embedder: Embedder, service: ExpertService) -> None:
        super().__init__(embedder, None)
        self.service = service

    @property
    def generated_by(self) -> str:
        return "experts"

    def answer(self, result: RetrievalResult) -> Answer:
        return self.service.answer(result)

    def stream(self, result: RetrievalResult) -> Iterator[str]:
        yield from self.service.stream(result).pieces
