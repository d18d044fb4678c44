"""The ``Loader`` contract: one file in, one or more ``Document``s out, or an ``IngestError``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from ingest.errors import IngestError
from ingest.models import Document


class Loader(ABC):
    extensions: tuple[str, ...] = ()

    @abstractmethod
    def load(self, path: Path) -> list[Document]: ...


def read_text(path: Path) -> str:
    """Decode a text file as UTF-8 (BOM tolerated); binary or undecodable content is an error, not mojibake."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise IngestError(f"{path}: looks binary (NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not valid UTF-8 text (byte {exc.start}: {exc.reason})") from exc


def require_text(path: Path, text: str) -> str:
    if not text.strip():
        raise IngestError(f"{path}: no text to ingest (empty file)")
    return text
