"""The ``Loader`` contract: one file in, one or more ``Document``s out, or an ``IngestError``.

A loader may also return per-record problems (a broken JSONL line) next to the documents it could
read: the file is not lost for one bad record, and the bad records are still reported.
"""

from __future__ import annotations

import codecs
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import IngestError
from ingest.models import Document

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass
class Loaded:
    """What one file gave: its documents, and the records that could not be read (with a reason)."""

    documents: list[Document]
    problems: list[str] = field(default_factory=list)


class Loader(ABC):
    extensions: tuple[str, ...] = ()

    @abstractmethod
    def load(self, path: Path) -> list[Document]: ...

    def load_with_problems(self, path: Path) -> Loaded:
        """Documents plus per-record problems; loaders of one-document formats have none."""
        return Loaded(self.load(path))


def decode_text(raw: bytes, name: str) -> str:
    """Text of a file's bytes: UTF-8, or UTF-8/16/32 announced by a byte order mark.

    Without a BOM only UTF-8 is accepted: guessing other encodings gives mojibake, not an error.
    """
    encoding = next((enc for bom, enc in _BYTE_ORDER_MARKS if raw.startswith(bom)), None)
    if encoding is None:
        if b"\x00" in raw[:8192]:
            raise IngestError(f"{name}: looks binary (NUL bytes), not text")
        encoding, bom_length = "utf-8", 0
    else:
        bom_length = next(len(bom) for bom, enc in _BYTE_ORDER_MARKS if enc == encoding)
    try:
        text = raw[bom_length:].decode(encoding)
    except UnicodeDecodeError as exc:
        label = encoding.upper().replace("-LE", "").replace("-BE", "")
        raise IngestError(f"{name}: not valid {label} text (byte {exc.start + bom_length}: {exc.reason})") from exc
    if "\x00" in text:
        raise IngestError(f"{name}: looks binary (NUL characters), not text")
    return text


def read_text(path: Path) -> str:
    """Decode a text file (see :func:`decode_text`); binary or undecodable content is an error."""
    return decode_text(path.read_bytes(), str(path))


def require_text(path: Path, text: str) -> str:
    if not text.strip():
        raise IngestError(f"{path}: no text to ingest (empty file)")
    return text
