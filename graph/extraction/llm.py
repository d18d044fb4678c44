"""Schema-guided entity and relation extraction with any LangChain chat model.

Per chunk: one call (JSON-schema constrained where the backend supports it), tolerant parsing,
one retry that shows the model its validation error, optional gleaning passes, then types
normalised to safe identifiers, the ontology applied and ungrounded names dropped. Every chunk
gets a status (ok / empty / repaired / failed); an empty graph is never returned silently.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.resources import files
from string import Template
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from graph.errors import ExtractionError
from graph.extraction.base import Extractor
from graph.extraction.parsing import (
    ExtractedEntity,
    ExtractedRelation,
    ExtractionPayload,
    ParsedExtraction,
    extraction_json_schema,
    parse_extraction,
)
from graph.models import EntityMention, Extraction, RelationMention, safe_type
from ingest.models import Chunk

Status = Literal["ok", "empty", "repaired", "failed"]
STATUSES: tuple[Status, ...] = ("ok", "empty", "repaired", "failed")
# Tried in order until the backend accepts one: OpenAI/vLLM/llama-server take json_schema,
# llama-cpp-python's server takes json_object with a schema.
STRUCTURED_FORMATS = ("json_schema", "json_object")
DEFAULT_TYPE_HINT = " such as PERSON, ORGANIZATION, LOCATION, WORK, EVENT, DATE or CONCEPT."


def load_prompt(name: str) -> Template:
    return Template((files("graph.extraction") / "prompts" / f"{name}.txt").read_text(encoding="utf-8"))


class ChunkReport(BaseModel):
    chunk_id: str
    status: Status
    first_reply_valid: bool = False  # the first reply was schema-valid JSON with no repair at all
    calls: int = 0
    entities: int = 0
    relations: int = 0
    invalid_items: int = 0  # items that failed validation
    filtered_items: int = 0  # off-ontology, ungrounded, dangling or self-loop
    error: str = ""


class ExtractionReport(BaseModel):
    """Per-chunk outcomes and totals of one ``extract`` run."""

    chunks: list[ChunkReport]
    requested_format: str = ""  # constrained mode asked for ("" = free text); a backend may ignore it
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for chunk in self.chunks:
            counts[chunk.status] += 1
        return counts

    @property
    def first_reply_valid_rate(self) -> float:
        return sum(c.first_reply_valid for c in self.chunks) / len(self.chunks) if self.chunks else 0.0

    @property
    def usable_rate(self) -> float:
        """Share of chunks whose output parsed (after repair or retry), empty ones included."""
        return 1.0 - self.totals["failed"] / len(self.chunks) if self.chunks else 0.0


@dataclass
class _Tally:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def count(self, reply: BaseMessage) -> None:
        self.calls += 1
        usage = getattr(reply, "usage_metadata", None) or {}
        self.prompt_tokens += int(usage.get("input_tokens", 0))
        self.completion_tokens += int(usage.get("output_tokens", 0))


@dataclass
class _ChunkRun:
    chunk: Chunk
    messages: list[BaseMessage]
    tally: _Tally = field(default_factory=_Tally)


def _grounded(name: str, text: str) -> bool:
    """The name, or one of its words of 3+ letters, occurs in the chunk: guards against names
    copied from the prompt's example or made up."""
    lowered = name.casefold()
    if lowered in text:
        return True
    words = re.findall(r"\w+", lowered)
    return any(word in text for word in words if len(word) >= 3)


class LLMExtractor(Extractor):
    name = "llm"

    def __init__(
        self,
        chat_model: BaseChatModel,
        *,
        entity_types: list[str] | None = None,
        relation_types: list[str] | None = None,
        gleaning: int = 0,
        concurrency: int = 4,
        use_structured_output: bool = True,
        require_grounding: bool = True,
        max_items: int = 24,
    ) -> None:
        if gleaning < 0 or concurrency < 1 or max_items < 1:
            raise ValueError("gleaning must be >= 0, concurrency and max_items >= 1")
        self.chat_model = chat_model
        self.entity_types = sorted({safe_type(t, "") for t in entity_types or []} - {""})
        self.relation_types = sorted({safe_type(t, "") for t in relation_types or []} - {""})
        self.gleaning = gleaning
        self.concurrency = concurrency
        self.require_grounding = require_grounding
        # Under constrained decoding, the cap on each list is what lets a looping small model stop.
        self.max_items = max_items
        self._formats = list(STRUCTURED_FORMATS) if use_structured_output else []
        self._format_settled = not use_structured_output
        self._format_lock = threading.Lock()
        self._system = load_prompt("extract_system").substitute(
            entity_types=f" from: {', '.join(self.entity_types)}." if self.entity_types else DEFAULT_TYPE_HINT,
            relation_types=f" from: {', '.join(self.relation_types)}." if self.relation_types else ".",
        )
        self._user, self._repair, self._glean = (load_prompt(n) for n in ("extract_user", "repair_user", "glean_user"))
        self.last_report: ExtractionReport | None = None

    # -- public ---------------------------------------------------------------------------------

    def extract(self, chunks: Sequence[Chunk]) -> list[Extraction]:
        extractions, self.last_report = self.extract_with_report(chunks)
        return extractions

    def extract_with_report(self, chunks: Sequence[Chunk]) -> tuple[list[Extraction], ExtractionReport]:
        """One ``Extraction`` per chunk, in order, and the report of the run."""
        results: list[tuple[Extraction, ChunkReport, _Tally]] = []
        if chunks:
            # The first chunk runs alone: it settles which structured mode the backend accepts.
            results.append(self._extract_chunk(chunks[0]))
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                results.extend(pool.map(self._extract_chunk, chunks[1:]))
        report = ExtractionReport(
            chunks=[r for _, r, _ in results],
            requested_format=self._formats[0] if self._formats else "",
            calls=sum(t.calls for _, _, t in results),
            prompt_tokens=sum(t.prompt_tokens for _, _, t in results),
            completion_tokens=sum(t.completion_tokens for _, _, t in results),
        )
        return [e for e, _, _ in results], report

    # -- one chunk ------------------------------------------------------------------------------

    def _extract_chunk(self, chunk: Chunk) -> tuple[Extraction, ChunkReport, _Tally]:
        run = _ChunkRun(chunk, [SystemMessage(self._system), HumanMessage(self._user.substitute(text=chunk.text))])
        try:
            parsed, first_valid = self._first_pass(run)
        except ExtractionError as exc:
            report = ChunkReport(chunk_id=chunk.id, status="failed", calls=run.tally.calls, error=str(exc))
            return Extraction(chunk_id=chunk.id, status="failed", error=str(exc)), report, run.tally
        payload = self._glean_more(run, parsed.payload)
        entities, relations, filtered = self._to_mentions(payload, chunk)
        status: Status = "empty" if not entities else ("ok" if parsed.clean and first_valid else "repaired")
        report = ChunkReport(
            chunk_id=chunk.id,
            status=status,
            first_reply_valid=first_valid,
            calls=run.tally.calls,
            entities=len(entities),
            relations=len(relations),
            invalid_items=parsed.dropped,
            filtered_items=filtered,
        )
        note = "no entities found in the reply" if status == "empty" else ""
        extraction = Extraction(chunk_id=chunk.id, entities=entities, relations=relations, status=status, error=note)
        return extraction, report, run.tally

    def _first_pass(self, run: _ChunkRun) -> tuple[ParsedExtraction, bool]:
        """Parse the first reply; on failure show the model the error once. Returns the parse and
        whether the first reply was valid as it stood."""
        reply = self._call(run)
        try:
            parsed = parse_extraction(reply)
            return parsed, parsed.clean
        except ExtractionError as first_error:
            run.messages += [AIMessage(reply), HumanMessage(self._repair.substitute(error=str(first_error)))]
            retry = parse_extraction(self._call(run))  # raises: the chunk is counted failed
            return ParsedExtraction(retry.payload, repaired=True, dropped=retry.dropped), False

    def _glean_more(self, run: _ChunkRun, payload: ExtractionPayload) -> ExtractionPayload:
        entities, relations = list(payload.entities), list(payload.relations)
        for _ in range(self.gleaning):
            so_far = ExtractionPayload(entities=entities, relations=relations).model_dump_json()
            run.messages += [AIMessage(so_far), HumanMessage(self._glean.template)]
            try:
                more = parse_extraction(self._call(run)).payload
            except ExtractionError:
                break  # a failed gleaning pass never costs what the first pass found
            if not more.entities and not more.relations:
                break
            entities += more.entities
            relations += more.relations
        return ExtractionPayload(entities=entities, relations=relations)

    # -- model calls ----------------------------------------------------------------------------

    def _call(self, run: _ChunkRun) -> str:
        """One model call; wraps provider errors (after the provider's own retries) as ExtractionError."""
        if not self._format_settled:
            with self._format_lock:
                if not self._format_settled:
                    return self._probe_call(run)
        try:
            reply = self._bound_model().invoke(run.messages)
        except Exception as exc:  # provider errors are library-specific; the chunk fails, the run goes on
            raise ExtractionError(f"model call failed: {type(exc).__name__}: {exc}") from exc
        run.tally.count(reply)
        return reply.text

    def _probe_call(self, run: _ChunkRun) -> str:
        """Try each structured mode, then free text; keep the first the backend accepts."""
        candidates = list(self._formats)
        last_error: Exception | None = None
        for index in range(len(candidates) + 1):
            self._formats = candidates[index:]
            try:
                reply = self._bound_model().invoke(run.messages)
            except Exception as exc:
                last_error = exc
                continue
            self._format_settled = True
            run.tally.count(reply)
            return reply.text
        self._formats = candidates  # every mode failed alike: the backend is down, not the format
        raise ExtractionError(f"model call failed: {type(last_error).__name__}: {last_error}")

    def _bound_model(self) -> Any:
        if not self._formats:
            return self.chat_model
        schema = extraction_json_schema(self.max_items)
        if self._formats[0] == "json_schema":
            response_format = {"type": "json_schema", "json_schema": {"name": "extraction", "schema": schema}}
        else:
            response_format = {"type": "json_object", "schema": schema}
        return self.chat_model.bind(response_format=response_format)

    # -- normalisation --------------------------------------------------------------------------

    def _to_mentions(
        self, payload: ExtractionPayload, chunk: Chunk
    ) -> tuple[list[EntityMention], list[RelationMention], int]:
        """Mentions with chunk provenance; returns how many items the filters left out."""
        entities = self._entities(payload.entities, chunk)
        names = {mention.name.casefold(): mention.name for mention in entities}
        relations = self._relations(payload.relations, names, chunk)
        filtered = len(payload.entities) + len(payload.relations) - len(entities) - len(relations)
        return entities, relations, filtered

    def _entities(self, items: list[ExtractedEntity], chunk: Chunk) -> list[EntityMention]:
        text = chunk.text.casefold()
        kept: dict[str, EntityMention] = {}
        for item in items:
            entity_type = safe_type(item.type, "CONCEPT")
            if self.entity_types and entity_type not in self.entity_types:
                continue
            if self.require_grounding and not _grounded(item.name, text):
                continue
            key = item.name.casefold()
            seen = kept.get(key)
            if seen is None or len(item.description) > len(seen.description):
                kept[key] = EntityMention(
                    name=item.name,
                    type=entity_type if seen is None else seen.type,
                    description=item.description,
                    chunk_id=chunk.id,
                    doc_id=chunk.doc_id,
                )
        return list(kept.values())

    def _relations(self, items: list[ExtractedRelation], names: dict[str, str], chunk: Chunk) -> list[RelationMention]:
        kept: dict[tuple[str, str, str], RelationMention] = {}
        for item in items:
            relation_type = safe_type(item.type, "RELATED_TO")
            source, target = names.get(item.source.casefold()), names.get(item.target.casefold())
            if self.relation_types and relation_type not in self.relation_types:
                continue
            if source is None or target is None or source == target:
                continue
            key = (source, target, relation_type)
            if key not in kept or item.strength > kept[key].strength:
                kept[key] = RelationMention(
                    source=source,
                    target=target,
                    type=relation_type,
                    description=item.description,
                    strength=item.strength,
                    chunk_id=chunk.id,
                    doc_id=chunk.doc_id,
                )
        return list(kept.values())
