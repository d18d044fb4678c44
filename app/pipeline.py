"""Ingest orchestration: the only place that wires the stages together.

files → loaders → chunker → (embedder, extractor) → fusion → store + indexes

Ingest has a pure half and a writing half. Preparing (``app/prepare.py``: chunk, extract, embed)
touches neither the store nor the indexes; writing (fusion, graph and index writes) happens here. ``ingest``
prepares each batch itself; ``write_prepared`` takes documents prepared elsewhere (the Ray engine's
actors) and writes them through the very same batches, checks and checkpoints.

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
from app.errors import GraphStoreError, StorageError, StoreUnavailableError
from app.prepare import PreparedBatch, PreparedDocument, PreparedFile, Preparer, read_file
from graph.extraction.base import Extractor
from graph.fusion.resolver import EntityResolver, refresh_entities
from graph.store.base import DeleteReport, GraphStore
from ingest.chunking.base import Chunker
from ingest.embedder import CachedEmbedder, Embedder
from ingest.loaders import discover
from ingest.loaders.registry import Skipped
from ingest.models import Document
from retrieval.index.indexset import IndexSet

log = logging.getLogger(__name__)

# (event, amount): "file" | "document" | "chunk" as they finish; before the first file, once each, the totals
# "files-total" and "documents-total" (an estimate: a JSONL file's non-empty lines, one for any other file).
ProgressCallback = Callable[[str, int], None]
Prepare = Callable[[list[Document]], list[PreparedDocument]]  # chunks, extractions and vectors of documents


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
    # The chunks this call wrote: the community refresh extends the hierarchy by what they name. Not reported.
    chunk_ids: list[str] = Field(default_factory=list, exclude=True)


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

    def forget_stale_indexes(self) -> None:
        """Reopen the indexes at the next write if another process saved them since this pipeline did: its
        copy in memory lacks that process's chunks, and saving it would drop them. Call it holding the
        workspace's write lock (``Engine``), when every change of this pipeline's is saved."""
        if self._indexes is not None and not self._indexes.is_current():
            self._indexes = None

    @property
    def fusion_embedder(self) -> Embedder:
        """The embedder entity resolution uses: the same model, with vectors cached by text on disk."""
        if self._fusion_embedder is None:
            path = self.settings.workspace_dir / self.EMBEDDING_CACHE
            self._fusion_embedder = CachedEmbedder(self.embedder, path, self.settings.embedding_model)
        return self._fusion_embedder

    @property
    def preparer(self) -> Preparer:
        """The pure half of ingest with this pipeline's models."""
        return Preparer(chunker=self.chunker, extractor=self.extractor, embedder=self.embedder)

    @property
    def max_file_bytes(self) -> int:
        return self.settings.ingest_max_file_mb * 1024 * 1024

    # -- ingest ------------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> IngestReport:
        report = IngestReport()
        notify = progress or (lambda event, amount: None)
        return self._ingest(self._documents(paths, report, notify), report, notify, self.preparer.prepare)

    def ingest_documents(self, docs: Iterable[Document], progress: ProgressCallback | None = None) -> IngestReport:
        """Ingest documents made elsewhere (not read from files), with the same batching and guarantees."""
        report = IngestReport()
        notify = progress or (lambda event, amount: None)
        return self._ingest(self._distinct(docs, report), report, notify, self.preparer.prepare)

    def write_prepared(self, files: Iterable[PreparedFile], progress: ProgressCallback | None = None) -> IngestReport:
        """Write files prepared elsewhere (``app/prepare.py``, e.g. by Ray actors), as ``ingest`` writes the
        files it prepares itself: same batches, same skipping of stored documents, same checkpoints."""
        report = IngestReport()
        notify = progress or (lambda event, amount: None)
        prepared: dict[str, PreparedDocument] = {}

        def documents() -> Iterator[Document]:
            for file in files:
                report.files += 1
                if file.error:
                    report.errors.append(FileError(path=file.path, error=file.error))
                    log.warning("%s", file.error)
                    notify("file", 1)
                    continue
                report.errors.extend(FileError(path=file.path, error=f"{file.path}: {p}") for p in file.problems)
                for item in file.documents:
                    prepared.setdefault(item.document.id, item)
                    yield item.document
                notify("file", 1)

        def look_up(docs: list[Document]) -> list[PreparedDocument]:
            return [prepared[doc.id] for doc in docs]

        return self._ingest(self._distinct(documents(), report), report, notify, look_up)

    def _ingest(
        self, docs: Iterable[Document], report: IngestReport, notify: ProgressCallback, prepare: Prepare
    ) -> IngestReport:
        try:
            self._ingest_all(docs, report, notify, prepare)
            if report.chunks or report.documents_replaced:
                report.communities = self._refresh_communities(None if report.documents_replaced else report.chunk_ids)
            return report
        except (OSError, sqlite3.Error) as exc:
            # A full or read-only disk is no fault of any one document: stop, keep what is done (the
            # unfinished documents stay pending), and say what to fix.
            raise StorageError(
                f"cannot write to the data dir {self.settings.workspace_dir} ({exc}); free space or fix its "
                "permissions, then run the ingest again: finished documents are kept"
            ) from exc

    def _ingest_all(
        self, docs: Iterable[Document], report: IngestReport, notify: ProgressCallback, prepare: Prepare
    ) -> IngestReport:
        written: list[Document] = []  # stored, waiting for the next index checkpoint to be marked done
        last_checkpoint = time.monotonic()
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= self.batch_size:
                written += self._ingest_batch(batch, report, notify, prepare)
                batch = []
                if time.monotonic() - last_checkpoint >= self.checkpoint_seconds:
                    self._checkpoint(written)
                    written, last_checkpoint = [], time.monotonic()
        if batch:
            written += self._ingest_batch(batch, report, notify, prepare)
        self._checkpoint(written)
        return report

    def _documents(self, paths: Sequence[Path], report: IngestReport, notify: ProgressCallback) -> Iterator[Document]:
        def loaded() -> Iterator[Document]:
            found = list(discover(list(paths)))  # a folder walk: cheap next to ingesting what it finds
            notify("files-total", len(found))
            notify("documents-total", sum(expected_documents(path, self.max_file_bytes) for path in found))
            for path in found:
                report.files += 1
                read = read_file(path, self.max_file_bytes)
                if read.error:
                    report.errors.append(FileError(path=str(path), error=read.error))
                    log.warning("%s", read.error)
                    notify("file", 1)
                    continue
                # A file that loaded in part (bad JSONL lines, unreadable PDF pages) reports each problem.
                report.errors.extend(FileError(path=str(path), error=f"{path}: {p}") for p in read.problems)
                yield from read.documents
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

    def _ingest_batch(
        self, docs: list[Document], report: IngestReport, notify: ProgressCallback, prepare: Prepare
    ) -> list[Document]:
        """Write a batch (pending); returns the documents written, to be marked done at a checkpoint."""
        stored = {d.id: d.hash for d in self.store.get_documents([d.id for d in docs])}
        fresh = [d for d in docs if stored.get(d.id) != d.hash]
        if any(stored.get(d.id) == "" for d in fresh):
            self._clear_interrupted_write()
        report.documents_unchanged += len(docs) - len(fresh)
        if not fresh:
            notify("document", len(docs))
            return []
        try:
            self._write_documents(fresh, report, notify, prepare)
            written = fresh
        except StoreUnavailableError:
            raise
        except GraphStoreError as exc:
            if len(fresh) == 1:
                self._fail(fresh[0], exc, report)
                written = []
            else:
                log.warning("the store refused a batch of %d documents (%s); writing them one by one", len(fresh), exc)
                written = [doc for doc in fresh if self._write_alone(doc, report, notify, prepare)]
        # Old versions go only once their replacements are written: a refused document loses nothing.
        self._replace_previous_versions(written, report)
        notify("document", len(docs))
        return written

    def _clear_interrupted_write(self) -> None:
        """Before a pending document is redone: an interrupted write may have left entities without their
        mentions (two transactions), which the resolver would otherwise meet as stored entities."""
        removed = self.store.delete_unmentioned_entities()
        if removed:
            log.info("removed %d entities left without mentions by an interrupted write", removed)

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

    def _write_alone(self, doc: Document, report: IngestReport, notify: ProgressCallback, prepare: Prepare) -> bool:
        try:
            self._write_documents([doc], report, notify, prepare)
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

    def _write_documents(
        self, docs: list[Document], report: IngestReport, notify: ProgressCallback, prepare: Prepare
    ) -> None:
        batch = PreparedBatch.of(prepare(docs), self.embedder.dim)
        self.store.upsert_documents([d.model_copy(update={"hash": ""}) for d in docs])  # pending
        if batch.chunks:
            self._write_chunks(batch, report)
            notify("chunk", len(batch.chunks))
        report.chunks += len(batch.chunks)
        report.chunk_ids.extend(c.id for c in batch.chunks)

    def _write_chunks(self, batch: PreparedBatch, report: IngestReport) -> None:
        self.store.upsert_chunks(batch.chunks)  # vectors go to the FAISS index below, the one dense search uses
        # The mentions' context vectors came from the chunks' own encoder pass (``Preparer.embed``).
        resolver = EntityResolver(
            self.store, self.fusion_embedder, summarize=self.summarize, mention_vectors=batch.mention_vectors
        )
        fused = resolver.resolve(batch.extractions)
        resolver.write(fused)
        statuses = Counter(e.status for e in batch.extractions)
        report.extraction_status = dict(Counter(report.extraction_status) + statuses)
        report.entities += len(fused.entities)
        report.relations += len(fused.relations)
        self.indexes.add_chunks(batch.chunks, batch.vectors)  # in memory; saved at the next checkpoint

    # -- delete ------------------------------------------------------------------------------------
    def delete_document(self, doc_id: str) -> DeleteReport:
        result = self._delete(doc_id)
        if result.chunks:
            self.indexes.save()
        if result.found:
            self._refresh_communities()
        return result

    def _refresh_communities(self, new_chunk_ids: list[str] | None = None) -> CommunityRefresh | None:
        """Communities and their summaries brought up to date with the graph (``app/communities.py``):
        extended by ``new_chunk_ids`` when an ingest only added those, else rebuilt in full."""
        if self.settings.communities == "off":
            return None
        indexes_current = self._indexes is not None and self._indexes.is_current()
        refresh = refresh_communities(
            self.settings, self.store, self.embedder, self.summarize, new_chunk_ids=new_chunk_ids
        )
        if indexes_current and self._indexes is not None:
            self._indexes.follow_own_change()  # the refresh's new generation changed no index
        return refresh

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


def expected_documents(path: Path | Skipped, max_bytes: int) -> int:
    """How many documents a discovered file should give, for a progress total: a JSONL file's non-empty
    lines (one read, skipped above the size limit), one for any other file, none for a skipped entry."""
    if isinstance(path, Skipped):
        return 0
    if path.suffix.lower() != ".jsonl":
        return 1
    try:
        if path.stat().st_size > max_bytes:
            return 1
        with path.open("rb") as lines:
            return sum(1 for line in lines if line.strip())
    except OSError:
        return 1  # the ingest reports why it cannot read the file
