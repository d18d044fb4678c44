"""Plain text and Markdown: the file is the document; Markdown's first heading is its title."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.loaders.base import Loader, read_text, require_text
from ingest.models import Document

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class TextLoader(Loader):
    extensions = (".txt", ".text")

    def load(self, path: Path) -> list[Document]:
        text = require_text(path, read_text(path))
        return [Document.from_text(text, source=str(path), title=path.stem)]


class MarkdownLoader(Loader):
    extensions = (".md", ".markdown")

    def load(self, path: Path) -> list[Document]:
        text = require_text(path, read_text(path))
        heading = _HEADING.search(text)
        title = heading.group(1) if heading else path.stem
        return [Document.from_text(text, source=str(path), title=title)]
