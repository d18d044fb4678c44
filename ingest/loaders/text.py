"""Plain text and Markdown: the file is the document; Markdown's first heading is its title."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.loaders.base import Loader, read_text, require_text
from ingest.models import Document

# Greedy and line-bound (the closing #s are stripped in Python): a lazy group followed by optional
# whitespace took quadratic time on a heading line with a long run of spaces.
_HEADING = re.compile(r"^[ ]{0,3}#{1,6}[ \t]+(\S.*)$", re.MULTILINE)


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
        title = heading.group(1).rstrip().rstrip("#").rstrip() if heading else ""
        return [Document.from_text(text, source=str(path), title=title or path.stem)]
