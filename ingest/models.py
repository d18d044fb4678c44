"""Typed records that leave the ingest stage: documents, their page map, and chunks."""

from __future__ import annotations

import bisect
import hashlib

from pydantic import BaseModel, Field

from ingest.errors import IngestError

# Bounds on what the graph stores index: Neo4j refuses an indexed string over ~8 KB ("Property value
# is too large to index") and would lose the whole write batch; these keep every value far below
# that (4 bytes per character at worst), on both stores alike.
MAX_ID_CHARS = 256
MAX_SOURCE_CHARS = 1024
MAX_TITLE_CHARS = 1024


def content_hash(text: str) -> str:
    """Stable identity of a text: a document whose text is unchanged keeps its id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PageSpan(BaseModel):
    """Characters ``[start, end)`` of a document's text come from page ``page`` (1-based)."""

    page: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


def _span_end(span: PageSpan) -> int:
    return span.end


class Document(BaseModel):
    id: str = Field(max_length=MAX_ID_CHARS)
    source: str = Field(max_length=MAX_SOURCE_CHARS)  # path or URI the text came from; jsonl rows use "path#id"
    title: str = Field(max_length=MAX_TITLE_CHARS)
    text: str
    hash: str
    pages: list[PageSpan] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        source: str,
        title: str,
        pages: list[PageSpan] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Document:
        """A document identified by its text's hash. An over-long source is an ``IngestError``; an
        over-long title (a label only: the text keeps it) is cut to ``MAX_TITLE_CHARS``."""
        if len(source) > MAX_SOURCE_CHARS:
            raise IngestError(f"source name too long ({len(source)} characters; at most {MAX_SOURCE_CHARS})")
        if len(title) > MAX_TITLE_CHARS:
            title = title[: MAX_TITLE_CHARS - 1] + "…"
        digest = content_hash(text)
        return cls(
            id=f"doc-{digest[:16]}",
            source=source,
            title=title,
            text=text,
            hash=digest,
            pages=pages or [],
            metadata=metadata or {},
        )

    def pages_between(self, start: int, end: int) -> list[int]:
        """Pages that characters ``[start, end)`` fall on (empty when the source has no pages).

        Page spans are sorted and disjoint, so a binary search finds the first one: a chunk costs
        O(log pages), not O(pages), which keeps a thousand-page PDF linear."""
        stop = max(end, start + 1)
        pages = []
        for span in self.pages[bisect.bisect_right(self.pages, start, key=_span_end) :]:
            if span.start >= stop:
                break
            pages.append(span.page)
        return pages


class Chunk(BaseModel):
    id: str
    doc_id: str
    index: int = Field(ge=0)  # position of the chunk in its document
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    pages: list[int] = Field(default_factory=list)
    chunker: str = ""

    @property
    def page(self) -> int | None:
        """First page of the chunk: what a citation shows."""
        return self.pages[0] if self.pages else None

    @staticmethod
    def make_id(doc_id: str, start: int, end: int) -> str:
        return f"chk-{hashlib.sha1(f'{doc_id}:{start}:{end}'.encode()).hexdigest()[:16]}"

    @classmethod
    def from_span(cls, doc: Document, index: int, start: int, end: int, chunker: str) -> Chunk:
        return cls(
            id=cls.make_id(doc.id, start, end),
            doc_id=doc.id,
            index=index,
            text=doc.text[start:end],
            start=start,
            end=end,
            pages=doc.pages_between(start, end),
            chunker=chunker,
        )
