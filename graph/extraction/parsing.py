"""Tolerant parsing of a model's extraction reply: repair the JSON, then validate it item by item.

``repair_json`` fixes, in one pass, the faults small models commonly make: code fences and chatter
around the object, single or curly quotes, Python literals (True/False/None), unquoted keys and
bare-word values, comments, raw newlines and unescaped quotes inside strings, missing and trailing
commas, mismatched closers, text after the top-level value, and output cut off by the token limit
(cut back to the last complete value, then closed). ``parse_extraction`` validates the result
against ``ExtractionPayload``, dropping (and counting) items that do not fit rather than the lot.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graph.errors import ExtractionError

FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LITERALS = {
    "true": "true",
    "false": "false",
    "null": "null",
    "True": "true",
    "False": "false",
    "None": "null",
}
OPEN_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}
CLOSERS = {"{": "}", "[": "]"}
# What may follow a closing quote when a comma is missing: a bare key and its colon, or a new string.
NEXT_KEY = re.compile(r'[A-Za-z_]\w*\s*:|"')


def strip_fences(text: str) -> str:
    """The content of the first fenced block, or the text itself when there is none."""
    match = FENCE.search(text)
    return match.group(1) if match else text


class _Frame:
    """One open container; in an object, whether the next string is a value (after ':')."""

    def __init__(self, opener: str) -> None:
        self.opener = opener
        self.after_colon = False


class _Repairer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.stack: list[_Frame] = []
        self.expect_comma = False  # a value just ended: the next value needs a comma first
        self.safe_len = 0  # output length after the last complete value
        self.safe_stack: list[str] = []  # openers still open at that point

    def run(self) -> str:
        start = min((i for i in (self.text.find("{"), self.text.find("[")) if i >= 0), default=-1)
        if start < 0:
            raise ValueError("no JSON object or array in the reply")
        self.pos = start
        while self.pos < len(self.text):
            if self._step():
                return "".join(self.out)  # the top-level value is complete; ignore what follows
        return self._close_truncated()

    def _step(self) -> bool:
        char = self.text[self.pos]
        if char in "{[":
            self._begin_value()
            self.out.append(char)
            self.stack.append(_Frame(char))
            self.pos += 1
        elif char in "}]":
            self.pos += 1
            return self._close(char)
        elif char in OPEN_QUOTES:
            self._string(OPEN_QUOTES[char])
        elif char == ",":
            self._trim_trailing_comma()
            self.out.append(",")
            self.expect_comma = False
            if self.stack:
                self.stack[-1].after_colon = False
            self.pos += 1
        elif char == ":":
            self.out.append(":")
            self.expect_comma = False
            if self.stack:
                self.stack[-1].after_colon = True
            self.pos += 1
        elif self.text.startswith("//", self.pos):
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end
        elif self.text.startswith("/*", self.pos):
            end = self.text.find("*/", self.pos)
            self.pos = len(self.text) if end < 0 else end + 2
        elif NUMBER.match(self.text, self.pos):
            self._scalar(NUMBER.match(self.text, self.pos).group(), numeric=True)  # type: ignore[union-attr]
        elif WORD.match(self.text, self.pos):
            self._scalar(WORD.match(self.text, self.pos).group(), numeric=False)  # type: ignore[union-attr]
        else:
            self.pos += 1  # whitespace or stray punctuation
        return False

    def _begin_value(self) -> None:
        if self.expect_comma and self.stack:
            self.out.append(",")
            self.stack[-1].after_colon = False
        self.expect_comma = False

    def _end_value(self, was_key: bool = False) -> None:
        self.expect_comma = not was_key
        if not was_key and self.stack:
            self.safe_len = len(self.out)
            self.safe_stack = [frame.opener for frame in self.stack]

    def _is_key_position(self) -> bool:
        return bool(self.stack) and self.stack[-1].opener == "{" and not self.stack[-1].after_colon

    def _string(self, closing_quote: str) -> None:
        was_key = self._is_key_position()
        self._begin_value()
        self.pos += 1
        chars = ['"']
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos : self.pos + 2])
                self.pos += 2
                continue
            self.pos += 1
            closes = char == closing_quote or (closing_quote == "\u201d" and char == '"')
            if closes and (closing_quote != '"' or self._quote_ends_string()):
                chars.append('"')
                self.out.append("".join(chars))
                self._end_value(was_key)
                return
            chars.append({'"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, char))
        # Cut off inside a string: a partial value ("PER" for "PERSON") is worse than none, so
        # this is not a safe cut point; truncation repair goes back to the value before.
        self.out.append("".join(chars) + '"')

    def _quote_ends_string(self) -> bool:
        """A '"' ends its string only before structure, a line break, a key or the end; otherwise
        it is an unescaped quote inside the text (``"the "best" band"``)."""
        rest = self.text[self.pos : self.pos + 80]
        stripped = rest.lstrip(" \t")
        if not stripped or stripped[0] in ",:}]\r\n":
            return True
        return len(rest) > len(stripped) and bool(NEXT_KEY.match(stripped))

    def _scalar(self, token: str, *, numeric: bool) -> None:
        was_key = self._is_key_position()
        self._begin_value()
        self.pos += len(token)
        if numeric and not was_key:
            self.out.append(token)
        elif token in LITERALS and not was_key:
            self.out.append(LITERALS[token])
        else:
            self.out.append(f'"{token}"')  # unquoted key or bare word
        self._end_value(was_key)

    def _close(self, closer: str) -> bool:
        wanted = "{" if closer == "}" else "["
        if not any(frame.opener == wanted for frame in self.stack):
            return False  # a closer with nothing to close: drop it
        while self.stack:
            frame = self.stack.pop()
            self._trim_trailing_comma()
            self.out.append(CLOSERS[frame.opener])
            if frame.opener == wanted:
                break
        if not self.stack:
            return True
        self._end_value()
        return False

    def _trim_trailing_comma(self) -> None:
        while self.out and self.out[-1] == ",":
            self.out.pop()

    def _close_truncated(self) -> str:
        if not self.stack:
            return "".join(self.out)
        if self.safe_len == 0:
            raise ValueError("reply ends before any complete value")
        kept = self.out[: self.safe_len]
        return "".join(kept) + "".join(CLOSERS[opener] for opener in reversed(self.safe_stack))


def repair_json(text: str) -> str:
    """Best-effort valid JSON text from a model reply; raises ``ValueError`` if none can be made."""
    return _Repairer(strip_fences(text)).run()


# Keys small models use instead of the ones the prompt asks for.
ENTITY_ALIASES = {"entity_name": "name", "entity": "name", "label": "type", "entity_type": "type"}
RELATION_ALIASES = {
    "src": "source", "head": "source", "subject": "source", "from": "source",
    "tgt": "target", "tail": "target", "object": "target", "to": "target",
    "relation": "type", "relation_type": "type", "predicate": "type", "label": "type",
}  # fmt: skip
ENTITY_SECTIONS = ("entities", "nodes")
RELATION_SECTIONS = ("relations", "relationships", "edges")


def _renamed(data: Any, aliases: dict[str, str]) -> Any:
    """Keys lower-cased and aliases mapped to the canonical names; a canonical key wins."""
    if not isinstance(data, dict):
        return data
    lowered = {str(key).lower(): value for key, value in data.items()}
    renamed = {key: value for key, value in lowered.items() if key not in aliases}
    for key, value in lowered.items():
        if key in aliases:
            renamed.setdefault(aliases[key], value)
    return renamed


def _as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


class ExtractedEntity(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    type: str = "CONCEPT"
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else _renamed(data, ENTITY_ALIASES)

    @field_validator("name", "type", "description", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return _as_text(value)


class ExtractedRelation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source: str = Field(min_length=1, max_length=200)
    target: str = Field(min_length=1, max_length=200)
    type: str = "RELATED_TO"
    description: str = ""
    strength: float = 1.0

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, list | tuple) and len(data) == 3:  # [source, type, target]
            return {"source": data[0], "type": data[1], "target": data[2]}
        return _renamed(data, RELATION_ALIASES)

    @field_validator("source", "target", "type", "description", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return _as_text(value)

    @field_validator("strength", mode="before")
    @classmethod
    def _strength(cls, value: Any) -> float:
        """Numbers are clamped to the 0-10 scale; words like "high" fall back to the default."""
        try:
            return min(max(float(value), 0.0), 10.0)
        except (TypeError, ValueError):
            return 1.0


class ExtractionPayload(BaseModel):
    entities: list[ExtractedEntity] = Field(default_factory=list)
    relations: list[ExtractedRelation] = Field(default_factory=list)


@dataclass(frozen=True)
class ParsedExtraction:
    payload: ExtractionPayload
    repaired: bool  # the JSON text or its shape had to be fixed
    dropped: int  # items that failed validation and were left out

    @property
    def clean(self) -> bool:
        return not self.repaired and self.dropped == 0


def extraction_json_schema(max_items: int = 24) -> dict[str, Any]:
    """A flat JSON schema (no $refs) for constrained decoding; bounded lists and strings keep a
    small model from rambling until the token limit cuts the reply off."""
    name = {"type": "string", "minLength": 1, "maxLength": 80}
    label = {"type": "string", "maxLength": 40}
    text = {"type": "string", "maxLength": 160}
    entity = {
        "type": "object",
        "properties": {"name": name, "type": label, "description": text},
        "required": ["name", "type", "description"],
    }
    relation = {
        "type": "object",
        "properties": {
            "source": name,
            "target": name,
            "type": label,
            "description": text,
            "strength": {"type": "number", "minimum": 0, "maximum": 10},
        },
        "required": ["source", "target", "type", "description", "strength"],
    }
    return {
        "type": "object",
        "properties": {
            "entities": {"type": "array", "items": entity, "maxItems": max_items},
            "relations": {"type": "array", "items": relation, "maxItems": max_items},
        },
        "required": ["entities", "relations"],
    }


def _load(text: str) -> tuple[Any, bool]:
    try:
        return json.loads(text), False
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(repair_json(text)), True
    except ValueError as exc:  # JSONDecodeError is a ValueError too
        raise ExtractionError(f"reply is not valid JSON: {exc}") from exc


def _sections(data: Any) -> tuple[list[Any], list[Any], bool]:
    """The entity and relation lists, and whether the shape had to be guessed."""
    if isinstance(data, list):
        return data, [], True
    if not isinstance(data, dict):
        raise ExtractionError("expected a JSON object with 'entities' and 'relations' lists")
    lowered = {str(key).lower(): value for key, value in data.items()}
    entities = next((lowered[k] for k in ENTITY_SECTIONS if k in lowered), None)
    relations = next((lowered[k] for k in RELATION_SECTIONS if k in lowered), None)
    if entities is None and relations is None:
        raise ExtractionError("expected a JSON object with 'entities' and 'relations' lists")
    guessed = not ("entities" in lowered and "relations" in lowered)
    entities, relations = entities or [], relations or []
    if not isinstance(entities, list) or not isinstance(relations, list):
        raise ExtractionError("'entities' and 'relations' must be lists")
    return entities, relations, guessed


def _validate(items: list[Any], model: type[BaseModel]) -> tuple[list[Any], list[str]]:
    """Valid items, and one error message per item left out."""
    kept, errors = [], []
    for item in items:
        try:
            kept.append(model.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            errors.append(f"{model.__name__} {'.'.join(map(str, first['loc']))}: {first['msg']}")
    return kept, errors


def parse_extraction(text: str) -> ParsedExtraction:
    """Parse one reply; raise ``ExtractionError`` (with a message fit to show the model) if nothing
    usable is there. Items that do not validate are dropped and counted, not fatal."""
    if not text.strip():
        raise ExtractionError("the reply was empty")
    data, repaired = _load(text)
    entity_items, relation_items, guessed = _sections(data)
    entities, entity_errors = _validate(entity_items, ExtractedEntity)
    relations, relation_errors = _validate(relation_items, ExtractedRelation)
    errors = entity_errors + relation_errors
    if errors and not entities and not relations:
        raise ExtractionError(f"no item matches the format ({len(errors)} invalid; first: {errors[0]})")
    shape_fixed = guessed or any(isinstance(item, str) for item in entity_items)
    return ParsedExtraction(
        payload=ExtractionPayload(entities=entities, relations=relations),
        repaired=repaired or shape_fixed,
        dropped=len(errors),
    )
