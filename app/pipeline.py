"""Ingest orchestration: the only place that wires the stages together.

files → loaders → chunker → (embedder, extractor) → fusion → store + indexes

Documents are processed in batches so the embedder and extractor see many chunks at once. A
document is written first with an empty hash (pending) and gets its real hash only after all its
chunks, entities, relations and index entries are durable: an interrupted job leaves only pending
documents, which the next run redoes (every write is an idempotent upsert), so ingest is resumable.
Saving the indexes rebuilds BM25 and rewrites FAISS, which costs time in proportion to the whole
workspace, so it happens at checkpoints (every ``checkpoint_seconds`` and at the end of a call)
rather than after every batch; the documents written since the last checkpoint are marked done
right after it.

A batch that the store refuses (one oversized value fails a whole Neo4j transaction) is written
again one document at a time, so only the documents that cannot be written fail, each reported in
``IngestReport.errors``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from app.communities import CommunityRefresh, refresh_communities
from app.config import Settings
from app.errors import GraphStoreError, IngestError, StorageError, StoreUnavailableError
from graph.extraction.base import Extractor
from graph.fusion.mention_vectors import encode_chunks
from graph.fusion.resolver import EntityResolver, refresh_entities
from graph.store.base import DeleteReport, GraphStore
from ingest.chunking.base import Chunker
from ingest.embedder import CachedEmbedder, Embedder
from ingest.loaders import discover, load_file
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
    communities: CommunityRefresh | None = None  # the refresh after the ingest (None: nothing changed, or off)


@dataclass
class Pipeline:
    settings: Settings
    store: GraphStore
    embedder: Embedder
    chunker: Chunker
    extractor: Extractor
    summarize: Callable[[str, list[str]], str] | None = None  # LLM description fusion; None = extractive
    batch_size: int = 128
    checkpoint_seconds: float = 120.0  # at most this much finished work is redone after a crash
    _indexes: IndexSet | None = field(default=None, repr=False)
    _fusion_embedder: Embedder | None = field(default=None, repr=False)

    EMBEDDING_CACHE = "embedding-cache.sqlite"

    @property
    def indexes(self) -> IndexSet:
        """The workspace's FAISS + BM25 indexes, opened on first use."""
        if self._indexes is None:
            self._indexes = IndexSet.open(self.settings.workspace_dir, self.embedder.dim)
        return self._indexes

    @property
    def fusion_embedder(self) -> Embedder:
        """The embedder entity resolution uses: the same model, with vectors cached by text on disk."""
        if self._fusion_embedder is None:
            path = self.settings.workspace_dir / self.EMBEDDING_CACHE
            self._fusion_embedder = CachedEmbedder(self.embedder, path, self.settings.embedding_model)
        return self._fusion_embedder

    # -- ingest ------------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> IngestReport:
        report = IngestReport()
        notify = progress or (lambda event, amount: None)
        return self._ingest(self._documents(paths, report, notify), report, notify)

    def ingest_documents(self, docs: Iterable[Document], progress: ProgressCallback | None = None) -> IngestReport:
        """Ingest documents made elsewhere (not read from files), with the same batching and guarantees."""
        report = IngestReport()
        return self._ingest(self._distinct(docs, report), report, progress or (lambda event, amount: None))

    def _ingest(self, docs: Iterable[Document], report: IngestReport, notify: ProgressCallback) -> IngestReport:
        try:
            self._ingest_all(docs, report, notify)
            if report.chunks or report.documents_replaced:
                report.communities = self._refresh_communities()
            return report
        except (OSError, sqlite3.Error) as exc:
            # A full or read-only disk is no fault of any one document: stop, keep what is done (the
            # unfinished documents stay pending), and say what to fix.
            raise StorageError(
                f"cannot write to the data dir {self.settings.workspace_dir} ({exc}); free space or fix its "
                "permissions, then run the ingest again: finished documents are kept"
            ) from exc

    def _ingest_all(self, docs: Iterable[Document], report: IngestReport, notify: ProgressCallback) -> IngestReport:
        written: list[Document] = []  # stored, waiting for the next index checkpoint to be marked done
        last_checkpoint = time.monotonic()
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= self.batch_size:
                written += self._ingest_batch(batch, report, notify)
                batch = []
                if time.monotonic() - last_checkpoint >= self.checkpoint_seconds:
                    self._checkpoint(written)
                    written, last_checkpoint = [], time.monotonic()
        if batch:
            written += self._ingest_batch(batch, report, notify)
        self._checkpoint(written)
        return report

    def _documents(self, paths: Sequence[Path], report: IngestReport, notify: ProgressCallback) -> Iterator[Document]:
        def loaded() -> Iterator[Document]:
            for path in discover(list(paths)):
                report.files += 1
                try:
                    loaded_file = load_file(path, max_bytes=self.settings.ingest_max_file_mb * 1024 * 1024)
                except IngestError as exc:
                    report.errors.append(FileError(path=str(path), error=str(exc)))
                    log.warning("%s", exc)
                    notify("file", 1)
                    continue
                # A file that loaded in part (bad JSONL lines, unreadable PDF pages) reports each problem.
                report.errors.extend(FileError(path=str(path), error=f"{path}: {p}") for p in loaded_file.problems)
                yield from loaded_file.documents
                notify("file", 1)

        return self._distinct(loaded(), report)

    @staticmethod
    def _distinct(docs: Iterable[Document], report: IngestReport) -> Iterator[Document]:
        """Each document once per call (the same text twice is one document: ids are content hashes)."""
        seen: set[str] = set()
        for doc in docs:
            if doc.id in seen:
                report.documents_unchanged += 1
                continue
            seen.add(doc.id)
            yield doc

    def _checkpoint(self, written: list[Document]) -> None:
        """Make the index entries of ``written`` durable, then mark those documents done."""
        if not written:
            return
        self.indexes.save()
        self.store.upsert_documents(written)  # complete: real hashes mark the documents done

    def _ingest_batch(self, docs: list[Document], report: IngestReport, notify: ProgressCallback) -> list[Document]:
        """Write a batch (pending); returns the documents written, to be marked done at a checkpoint."""
        stored = {d.id: d.hash for d in self.store.get_documents([d.id for d in docs])}
        fresh = [d for d in docs if stored.get(d.id) != d.hash]
        report.documents_unchanged += len(docs) - len(fresh)
        if not fresh:
            notify("document", len(docs))
            return []
        try:
            self._write_documents(fresh, report, notify)
            written = fresh
        except StoreUnavailableError:
            raise
        except GraphStoreError as exc:
            if len(fresh) == 1:
                self._fail(fresh[0], exc, report)
                written = []
            else:
                log.warning("the store refused a batch of %d documents (%s); writing them one by one", len(fresh), exc)
                written = [doc for doc in fresh if self._write_alone(doc, report, notify)]
        # Old versions go only once their replacements are written: a refused document loses nothing.
        self._replace_previous_versions(written, report)
        notify("document", len(docs))
        return written

    def _replace_previous_versions(self, docs: list[Document], report: IngestReport) -> None:
        """Delete stored documents from the same source under another id (the file changed)."""
        if not docs:
            return
        ids = {d.id for d in docs}
        by_source: dict[str, list[str]] = {}
        for stored in self.store.find_documents_by_source(sorted({d.source for d in docs})):
            if stored.id not in ids:
                by_source.setdefault(stored.source, []).append(stored.id)
        removed_chunks = False
        for doc in docs:
            previous = by_source.pop(doc.source, [])
            for doc_id in previous:
                removed_chunks |= self._delete(doc_id).chunks > 0
            report.documents_replaced += bool(previous)
            report.documents_new += not previous
        if removed_chunks:
            self.indexes.save()  # the old chunks' index entries go before their replacements land

    def _write_alone(self, doc: Document, report: IngestReport, notify: ProgressCallback) -> bool:
        try:
            self._write_documents([doc], report, notify)
            return True
        except StoreUnavailableError:
            raise
        except GraphStoreError as exc:
            self._fail(doc, exc, report)
            return False

    def _fail(self, doc: Document, exc: GraphStoreError, report: IngestReport) -> None:
        """Report a document the store refused, and remove what of it was written."""
        report.errors.append(FileError(path=doc.source[:500], error=f"the graph store refused this document: {exc}"))
        log.warning("the graph store refused %s: %s", doc.source[:200], exc)
        try:
            self._delete(doc.id)
        except GraphStoreError:
            log.warning("could not remove what was written of %s", doc.source[:200])

    def _write_documents(self, docs: list[Document], report: IngestReport, notify: ProgressCallback) -> None:
        self.store.upsert_documents([d.model_copy(update={"hash": ""}) for d in docs])  # pending
        chunks = [chunk for doc in docs for chunk in self.chunker.chunk(doc)]
        if chunks:
            self._write_chunks(chunks, report)
            notify("chunk", len(chunks))
        report.chunks += len(chunks)

    def _write_chunks(self, chunks: list[Chunk], report: IngestReport) -> None:
        extractions = self.extractor.extract(chunks)
        # One encoder pass gives the chunk vectors and the mentions' context vectors for fusion.
        vectors, mention_vectors = encode_chunks(chunks, extractions, self.embedder)
        self.store.upsert_chunks(chunks)  # vectors go to the FAISS index below, the one dense search uses
        resolver = EntityResolver(
            self.store, self.fusion_embedder, summarize=self.summarize, mention_vectors=mention_vectors
        )
        fused = resolver.resolve(extractions)
        resolver.write(fused)
        report.extraction_status = dict(Counter(report.extraction_status) + Counter(e.status for e in extractions))
        report.entities += len(fused.entities)
        report.relations += len(fused.relations)
        self.indexes.add_chunks(chunks, vectors)  # in memory; saved at the next checkpoint

    # -- delete ------------------------------------------------------------------------------------
    def delete_document(self, doc_id: str) -> DeleteReport:
        result = self._delete(doc_id)
        if result.chunks:
            self.indexes.save()
        if result.found:
            self._refresh_communities()
        return result

    def _refresh_communities(self) -> CommunityRefresh | None:
        """Communities and their summaries brought up to date with the graph (``app/communities.py``)."""
        if self.settings.communities == "off":
            return None
        return refresh_communities(self.settings, self.store, self.embedder, self.summarize)

    def _delete(self, doc_id: str) -> DeleteReport:
        """Delete from the store and (in memory) from the indexes; the caller saves the indexes."""
        chunk_ids = [c.id for c in self.store.chunks_of_document(doc_id)]
        result = self.store.delete_document(doc_id)
        if chunk_ids:
            self.indexes.remove_chunks(chunk_ids)
        if result.affected_entity_ids:
            refresh_entities(self.store, result.affected_entity_ids, self.summarize, self.fusion_embedder)
        return result


__all__ = ["IngestReport", "Pipeline"]
