"""The ``Chunker`` contract: a document in, its chunks out, in order, covering its text."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ingest.models import Chunk, Document


class Chunker(ABC):
    """Cuts one document into chunks.

    Every chunk keeps its document id, character offsets into ``Document.text``, the pages it
    spans and the name of the chunker that made it (``Chunk.from_span`` fills all of these).
    A chunker never fails a document: empty text gives no chunks, anything else gives chunks.
    """

    name: str = "base"

    @abstractmethod
    def chunk(self, doc: Document) -> list[Chunk]: ...
