"""The pure half of ingest: read files, chunk, extract and embed, without touching the store or indexes.

``Pipeline`` (``app/pipeline.py``) runs these steps in its own process and writes what they give; the
Ray engine (``app/jobs/engines/ray.py``) runs the same steps in actors on other machines and hands the
results to ``Pipeline.write_prepared`` on the driver. Everything here returns plain picklable values
(pydantic models, numpy arrays), so a prepared document can travel between processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import IngestError
from graph.extraction.base import Extractor
from graph.fusion.mention_vectors import MentionVectors, encode_chunks
from graph.models import Extraction
from ingest.chunking.base import Chunker
from ingest.embedder import Embedder
from ingest.loaders import load_file
from ingest.loaders.registry import Skipped
from ingest.models import Chunk, Document


@dataclass
class FileRead:
    """What one file gave: its documents, the problems of a file that loaded in part, or why it failed."""

    path: str
    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str = ""


def read_file(path: Path | Skipped, max_bytes: int | None) -> FileRead:
    try:
        loaded = load_file(path, max_bytes=max_bytes)
    except IngestError as exc:
        return FileRead(str(path), error=str(exc))
    return FileRead(str(path), list(loaded.documents), list(loaded.problems))


@dataclass
class PreparedDocument:
    """A document with its chunks, their extractions (one per chunk, same order) and vectors (one row per chunk)."""

    document: Document
    chunks: list[Chunk]
    extractions: list[Extraction] = field(default_factory=list)
    vectors: np.ndarray | None = None
    mention_vectors: MentionVectors = field(default_factory=MentionVectors)


@dataclass
class PreparedFile:
    """A file read and its documents prepared; ``error`` set when nothing of it could be (the reason)."""

    path: str
    documents: list[PreparedDocument] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str = ""
    prompt_tokens: int = 0  # LLM tokens its extraction spent (where the extractor calls an LLM)
    completion_tokens: int = 0


@dataclass
class PreparedBatch:
    """Several prepared documents as one batch: what entity resolution and the writes take at once."""

    chunks: list[Chunk]
    extractions: list[Extraction]
    vectors: np.ndarray
    mention_vectors: MentionVectors

    @classmethod
    def of(cls, prepared: Sequence[PreparedDocument], dim: int) -> PreparedBatch:
        mentions = MentionVectors()
        for item in prepared:
            mentions.by_mention.update(item.mention_vectors.by_mention)
        rows = [item.vectors for item in prepared if item.vectors is not None and len(item.chunks)]
        return cls(
            chunks=[c for item in prepared for c in item.chunks],
            extractions=[e for item in prepared for e in item.extractions],
            vectors=np.vstack(rows) if rows else np.zeros((0, dim), dtype=np.float32),
            mention_vectors=mentions,
        )


@dataclass
class Preparer:
    """Chunk, extract and embed documents with the given models (a stage may hold only the one it runs)."""

    chunker: Chunker | None = None
    extractor: Extractor | None = None
    embedder: Embedder | None = None

    def prepare(self, docs: Sequence[Document]) -> list[PreparedDocument]:
        """All three steps over a batch: one extractor call and one encoder pass for all its chunks."""
        prepared = self.chunk(docs)
        self.extract(prepared)
        self.embed(prepared)
        return prepared

    def chunk(self, docs: Sequence[Document]) -> list[PreparedDocument]:
        assert self.chunker is not None, "this preparer has no chunker"
        return [PreparedDocument(doc, list(self.chunker.chunk(doc))) for doc in docs]

    def extract(self, prepared: Sequence[PreparedDocument]) -> None:
        assert self.extractor is not None, "this preparer has no extractor"
        chunks = [c for item in prepared for c in item.chunks]
        extractions = iter(self.extractor.extract(chunks) if chunks else [])
        for item in prepared:
            item.extractions = [next(extractions) for _ in item.chunks]

    def embed(self, prepared: Sequence[PreparedDocument]) -> None:
        """The chunk vectors and the mentions' context vectors, from one encoder pass over the batch."""
        assert self.embedder is not None, "this preparer has no embedder"
        chunks = [c for item in prepared for c in item.chunks]
        if not chunks:
            return
        extractions = [e for item in prepared for e in item.extractions]
        vectors, mentions = encode_chunks(chunks, extractions, self.embedder)
        start = 0
        for item in prepared:
            ids = {c.id for c in item.chunks}
            item.vectors = vectors[start : start + len(item.chunks)]
            item.mention_vectors = MentionVectors({k: v for k, v in mentions.by_mention.items() if k[0] in ids})
            start += len(item.chunks)


__all__ = ["FileRead", "PreparedBatch", "PreparedDocument", "PreparedFile", "Preparer", "read_file"]
