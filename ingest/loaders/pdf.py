"""PDF with page numbers: page texts are joined, and a page map records which characters came from which page."""

from __future__ import annotations

from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders.base import Loader, require_text
from ingest.models import Document, PageSpan

PAGE_SEPARATOR = "\n\n"


class PdfLoader(Loader):
    extensions = (".pdf",)

    def load(self, path: Path) -> list[Document]:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(str(path))
            page_texts = [(page.extract_text() or "").strip() for page in reader.pages]
            title = str(reader.metadata.get("/Title") or "") if reader.metadata is not None else ""
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
            raise IngestError(f"{path}: unreadable PDF ({exc})") from exc
        text, spans = _join_pages(page_texts)
        require_text(path, text)
        return [Document.from_text(text, source=str(path), title=title.strip() or path.stem, pages=spans)]


def _join_pages(page_texts: list[str]) -> tuple[str, list[PageSpan]]:
    parts: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        if not page_text:
            continue  # a blank page contributes no characters, so no span
        if parts:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
        parts.append(page_text)
        spans.append(PageSpan(page=number, start=offset, end=offset + len(page_text)))
        offset += len(page_text)
    return "".join(parts), spans
