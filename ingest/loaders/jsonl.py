"""JSON Lines: one document per line with ``text`` (required), ``id`` and ``title`` (optional).

A bad line is reported with its line number; the file's other lines still load.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders.base import Loader, read_text
from ingest.models import Document

log = logging.getLogger(__name__)


class JsonlLoader(Loader):
    extensions = (".jsonl", ".ndjson")

    def load(self, path: Path) -> list[Document]:
        docs: list[Document] = []
        problems: list[str] = []
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                docs.append(_row_to_document(path, json.loads(line), number))
            except (json.JSONDecodeError, IngestError, TypeError) as exc:
                problems.append(f"line {number}: {exc}")
        for problem in problems:
            log.warning("%s: %s", path, problem)
        if not docs:
            detail = f" ({'; '.join(problems[:3])})" if problems else ""
            raise IngestError(f"{path}: no valid JSON lines with a 'text' field{detail}")
        return docs


def _row_to_document(path: Path, row: object, number: int) -> Document:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
        raise IngestError("expected an object with a non-empty string 'text'")
    row_id = str(row.get("id") or number)
    title = str(row.get("title") or row_id)
    # The title is part of the indexed text: passages often only make sense with it.
    text = f"{title}\n\n{row['text']}" if row.get("title") else row["text"]
    return Document.from_text(text, source=f"{path}#{row_id}", title=title, metadata={"row_id": row_id})
