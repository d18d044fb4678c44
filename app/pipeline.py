"""Ingest orchestration: the only place that wires the stages together.

files → loaders → chunker → (embedder, extractor) → fusion → store + indexes

Documents are processed in batches so the embedder and extractor see many chunks at once. A
document is written first with an empty hash (pending) and gets its real hash only after all its
chunks, entities, relations and index entries are written: an interrupted job leaves only pending
documents, which the next run redoes (every write is an idempotent upsert), so ingest is resumable.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from app.config import Settings
from app.errors import IngestError
from graph.extraction.base import Extractor
from graph.fusion.resolver import EntityResolver, refresh_entities
from graph.store.base import DeleteReport, GraphStore
from ingest.chunking.base import Chunker
from ingest.embedder import Embedder
from ingest.loaders import discover, load_path
from ingest.models import Chunk, Document
from retrieval.index.indexset import IndexSet

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int], None]  # (event, amount): "file" | "document" | "chunk"


class FileError(BaseModel):
    path: str
    error: str


class IngestReport(BaseModel):
    files: int = 0
    documents_new: int = 0
    documents_unchanged: int = 0
    documents_replaced: int = 0
    chunks: int = 0
    entities: int = 0
    relations: int = 0
    extraction_status: dict[str, int] = Field(default_factory=dict)
    llm_tokens: dict[str, int] = Field(default_factory=dict)  # prompt/completion tokens when an LLM was used
    errors: list[FileError] = Field(default_factory=list)


@dataclass
class Pipeline:
    settings: Settings
    store: GraphStore
    embedder: Embedder
    chunker: Chunker
    extractor: Extractor
    summarize: Callable[[str, list[str]], str] | None = None  # LLM description fusion; None = extractive
    batch_size: int = 128
    _indexes: IndexSet | None = field(default=None, repr=False)

    @property
    def indexes(self) -> IndexSet:
        """The workspace's FAISS + BM25 indexes, opened on first use."""
        if self._indexes is None:
            self._indexes = IndexSet.open(self.settings.workspace_dir, self.embedder.dim)
        return self._indexes

    # -- ingest ------------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> IngestReport:
        report = IngestReport()
        notify = progress or (lambda event, amount: None)
        batch: list[Document] = []
        for doc in self._documents(paths, report, notify):
            batch.append(doc)
            if len(batch) >= self.batch_size:
                self._ingest_batch(batch, report, notify)
                batch = []
        if batch:
            self._ingest_batch(batch, report, notify)
        return report

    def _documents(self, paths: Sequence[Path], report: IngestReport, notify: ProgressCallback) -> Iterator[Document]:
        seen: set[str] = set()
        for path in discover(list(paths)):
            report.files += 1
            try:
                docs = load_path(path)
            except IngestError as exc:
                report.errors.append(FileError(path=str(path), error=str(exc)))
                log.warning("%s", exc)
                notify("file", 1)
                continue
            for doc in docs:
                if doc.id in seen or self._unchanged(doc):
                    report.documents_unchanged += 1
                    continue
                seen.add(doc.id)
                yield doc
            notify("file", 1)

    def _unchanged(self, doc: Document) -> bool:
        existing = self.store.get_document(doc.id)
        return existing is not None and existing.hash == doc.hash

    def _ingest_batch(self, docs: list[Document], report: IngestReport, notify: ProgressCallback) -> None:
        for doc in docs:
            previous = self.store.find_document_by_source(doc.source)
            if previous is not None and previous.id != doc.id:
                self.delete_document(previous.id)
                report.documents_replaced += 1
            else:
                report.documents_new += 1
        self.store.upsert_documents([d.model_copy(update={"hash": ""}) for d in docs])  # pending
        chunks = [chunk for doc in docs for chunk in self.chunker.chunk(doc)]
        if chunks:
            self._write_chunks(chunks, report)
            notify("chunk", len(chunks))
        self.store.upsert_documents(docs)  # complete: real hashes mark the documents done
        report.chunks += len(chunks)
        notify("document", len(docs))

    def _write_chunks(self, chunks: list[Chunk], report: IngestReport) -> None:
        vectors = self.embedder.embed([c.text for c in chunks])
        self.store.upsert_chunks(chunks, vectors.tolist())
        extractions = self.extractor.extract(chunks)
        report.extraction_status = dict(
            Counter(report.extraction_status) + Counter(e.status for e in extractions)
        )
        resolver = EntityResolver(self.store, self.embedder, summarize=self.summarize)
        fused = resolver.resolve(extractions)
        resolver.write(fused)
        report.entities += len(fused.entities)
        report.relations += len(fused.relations)
        self.indexes.add_chunks(chunks, vectors)
        self.indexes.save()

    # -- delete ------------------------------------------------------------------------------------
    def delete_document(self, doc_id: str) -> DeleteReport:
        chunk_ids = [c.id for c in self.store.chunks_of_document(doc_id)]
        result = self.store.delete_document(doc_id)
        if chunk_ids:
            self.indexes.remove_chunks(chunk_ids)
            self.indexes.save()
        if result.affected_entity_ids:
            refresh_entities(self.store, result.affected_entity_ids, self.summarize, self.embedder)
        return result



__all__ = ["IngestReport", "Pipeline"]
