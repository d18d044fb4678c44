"""JSON Lines: one document per line with ``text`` (required), ``id`` and ``title`` (optional).

A bad line (not JSON, not an object, no text, an over-long id) is a problem reported with its line
number; the file's other lines still load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders.base import Loaded, Loader, read_text
from ingest.models import MAX_ID_CHARS, Document


class JsonlLoader(Loader):
    extensions = (".jsonl", ".ndjson")

    def load(self, path: Path) -> list[Document]:
        return self.load_with_problems(path).documents

    def load_with_problems(self, path: Path) -> Loaded:
        docs: list[Document] = []
        problems: list[str] = []
        for number, line in _numbered_lines(read_text(path)):
            try:
                docs.append(_row_to_document(path, json.loads(line), number))
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
            except (IngestError, TypeError, ValueError, RecursionError) as exc:
                problems.append(f"line {number}: {exc}")
        if not docs:
            detail = f" ({'; '.join(problems[:3])})" if problems else ""
            raise IngestError(f"{path}: no valid JSON lines with a 'text' field{detail}")
        return Loaded(docs, problems)


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers. Only ``\\n`` ends a line: JSON strings may hold
    U+2028 and other characters that ``str.splitlines`` would split on."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line


def _row_to_document(path: Path, row: object, number: int) -> Document:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
        raise IngestError("expected an object with a non-empty string 'text'")
    row_id = str(row.get("id") or number)
    if len(row_id) > MAX_ID_CHARS:
        raise IngestError(f"id too long ({len(row_id)} characters; at most {MAX_ID_CHARS})")
    title = str(row.get("title") or row_id)
    # The title is part of the indexed text: passages often only make sense with it.
    text = f"{title}\n\n{row['text']}" if row.get("title") else row["text"]
    return Document.from_text(text, source=f"{path}#{row_id}", title=title, metadata={"row_id": row_id})
