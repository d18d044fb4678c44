"""PDF with page numbers: page texts are joined, and a page map records which characters came from which page.

A PDF whose structure cannot be read is an ``IngestError``; a page whose text cannot be extracted
(a malformed content stream) is a per-page problem and the other pages still load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.loaders.base import Loaded, Loader
from ingest.models import Document, PageSpan

PAGE_SEPARATOR = "\n\n"


class PdfLoader(Loader):
    extensions = (".pdf",)

    def load(self, path: Path) -> list[Document]:
        return self.load_with_problems(path).documents

    def load_with_problems(self, path: Path) -> Loaded:
        from pypdf import PdfReader

        try:
            reader = PdfReader(str(path))
            pages = list(reader.pages)
        except RecursionError as exc:
            raise IngestError(f"{path}: malformed PDF (structure nested too deeply)") from exc
        except Exception as exc:  # pypdf raises many types on hostile files; all mean "unreadable"
            raise IngestError(f"{path}: unreadable PDF ({type(exc).__name__}: {exc})") from exc
        page_texts: list[str] = []
        problems: list[str] = []
        for number, page in enumerate(pages, start=1):
            try:
                page_texts.append((page.extract_text() or "").strip())
            except Exception as exc:  # one bad page does not lose the others
                page_texts.append("")
                problems.append(f"page {number}: text not extractable ({type(exc).__name__})")
        text, spans = _join_pages(page_texts)
        if not text.strip():
            detail = f" ({'; '.join(problems[:3])})" if problems else " (empty, or scanned pages without a text layer)"
            raise IngestError(f"{path}: no extractable text in the PDF{detail}")
        doc = Document.from_text(text, source=str(path), title=_title(reader) or path.stem, pages=spans)
        return Loaded([doc], problems)


def _title(reader: Any) -> str:
    """The document-info title; a damaged info dictionary just means no title."""
    try:
        return str(reader.metadata.get("/Title") or "").strip() if reader.metadata is not None else ""
    except Exception:  # a damaged info dictionary is not worth failing the file for
        return ""


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
