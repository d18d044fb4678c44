"""Loaders chosen by file extension; ``load_path`` is the one entry point the pipeline uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders.base import Loader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.jsonl import JsonlLoader
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.text import MarkdownLoader, TextLoader
from ingest.models import Document

LOADERS: tuple[Loader, ...] = (TextLoader(), MarkdownLoader(), HtmlLoader(), PdfLoader(), JsonlLoader())
_BY_EXTENSION = {ext: loader for loader in LOADERS for ext in loader.extensions}
SUPPORTED_EXTENSIONS = tuple(sorted(_BY_EXTENSION))


def loader_for(path: Path) -> Loader:
    loader = _BY_EXTENSION.get(path.suffix.lower())
    if loader is None:
        raise IngestError(f"{path}: unsupported file type {path.suffix or '(none)'}; "
                          f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    return loader


def load_path(path: Path) -> list[Document]:
    """Load one file into documents, raising ``IngestError`` with the file name on any problem."""
    if not path.is_file():
        raise IngestError(f"{path}: not a file")
    try:
        return loader_for(path).load(path)
    except IngestError:
        raise
    except (OSError, ValueError) as exc:
        raise IngestError(f"{path}: {exc}") from exc


def discover(paths: list[Path]) -> Iterator[Path]:
    """Files to ingest: the given files, and every file below given folders (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child
        else:
            yield path
