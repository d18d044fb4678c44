"""HTML: visible text only (scripts, styles and markup dropped), block elements become line breaks."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ingest.loaders.base import Loader, read_text, require_text
from ingest.models import Document

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre", "td"}
_HIDDEN = {"script", "style", "noscript", "template", "head"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._hidden_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _HIDDEN:
            self._hidden_depth += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._hidden_depth:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """Return ``(title, text)`` of an HTML page."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))
    text = re.sub(r" *\n[ \n]*", "\n\n", text).strip()
    return parser.title.strip(), text


class HtmlLoader(Loader):
    extensions = (".html", ".htm")

    def load(self, path: Path) -> list[Document]:
        title, text = html_to_text(read_text(path))
        require_text(path, text)
        return [Document.from_text(text, source=str(path), title=title or path.stem)]
