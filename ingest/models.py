"""Typed records that leave the ingest stage: documents, their page map, and chunks."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field


def content_hash(text: str) -> str:
    """Stable identity of a text: a document whose text is unchanged keeps its id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PageSpan(BaseModel):
    """Characters ``[start, end)`` of a document's text come from page ``page`` (1-based)."""

    page: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Document(BaseModel):
    id: str
    source: str  # path or URI the text came from; jsonl rows use "path#id"
    title: str
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
        """Pages that characters ``[start, end)`` fall on (empty when the source has no pages)."""
        return [span.page for span in self.pages if span.start < max(end, start + 1) and span.end > start]


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
