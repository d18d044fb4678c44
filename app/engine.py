"""``Engine``: one workspace's store, models, retriever and answerer, opened once and shared.

The CLI, the REST API and jobs all go through an Engine, so they behave the same. Heavy parts
(models, indexes) are created on first use, so a command that only lists documents stays fast.

Concurrency: questions run in parallel on any number of threads; writes (ingest, delete) take the
workspace's write lock, so they run one at a time, in this process and across processes (a server and
an ``amalgam ingest`` in another terminal). A question never waits for a write: it uses the retriever it
found when it started, and a write swaps in a retriever over the new indexes when it is done (the swap
is one assignment). What another process saved is picked up the same way: a write starts from it, and
the next question reopens the retriever over it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from app import services
from app.answer import Answerer
from app.config import Settings
from app.errors import RetrievalError, WorkspaceBusyError
from app.llm.usage import TokenUsage
from app.pipeline import IngestReport, Pipeline, ProgressCallback
from app.prepare import PreparedFile
from app.results import Answer, DocumentSummary
from graph.models import Community
from graph.store.base import DeleteReport, GraphStore
from ingest.embedder import Embedder
from ingest.locks import file_lock
from ingest.models import Document
from retrieval.retriever import HybridRetriever
from retrieval.signals.treehop import name_vectors
from retrieval.treehop.mentions import NAME_CACHE, NameVectors
from retrieval.types import RetrievalResult

if TYPE_CHECKING:
    from app.experts.serving import ExpertService

T = TypeVar("T")

log = logging.getLogger(__name__)

WRITE_LOCK = ".write.lock"  # in the workspace folder: held by whoever writes the workspace


def workspace_write_lock(settings: Settings, timeout: float | None = None) -> AbstractContextManager[None]:
    """The workspace's lock between writing processes; says so when it has to wait for another one.
    ``timeout``: ``TimeoutError`` after that many seconds of waiting (None: as long as it takes)."""

    def say_waiting() -> None:
        log.warning("workspace %r is being written by another process; waiting for it to finish", settings.workspace)

    return file_lock(settings.workspace_dir / WRITE_LOCK, on_wait=say_waiting, timeout=timeout)


class Engine:
    def __init__(self, settings: Settings, store: GraphStore | None = None, embedder: Embedder | None = None) -> None:
        """``store`` and ``embedder`` may be given (already open, e.g. shared by tests); else they are built
        from the settings on first use."""
        self.settings = settings
        self.usage = TokenUsage()  # tokens every LLM call of this engine spent
        self._store = store
        self._embedder = embedder
        self._pipeline: Pipeline | None = None
        self._answerer: Answerer | None = None
        self._experts: ExpertService | None = None
        self._retriever: HybridRetriever | None = None
        self._names: NameVectors | None = None
        self._build_lock = threading.RLock()  # builds each lazy part once, however many threads ask
        self._write_lock = threading.Lock()  # one writer per workspace at a time
        self._reopen_lock = threading.Lock()  # one thread reopens a retriever that another process made stale

    def _once(self, attribute: str, build: Callable[[], T]) -> T:
        part = getattr(self, attribute)
        if part is None:
            with self._build_lock:
                part = getattr(self, attribute)
                if part is None:
                    part = build()
                    setattr(self, attribute, part)
        return part  # type: ignore[no-any-return]

    @property
    def store(self) -> GraphStore:
        return self._once("_store", lambda: services.open_store(self.settings))

    @property
    def embedder(self) -> Embedder:
        return self._once("_embedder", lambda: services.get_embedder(self.settings))

    @property
    def pipeline(self) -> Pipeline:
        return self._once("_pipeline", self._build_pipeline)

    @property
    def retriever(self) -> HybridRetriever:
        retriever = self._once("_retriever", self._open_retriever)
        return retriever if retriever.indexes.is_current() else self._reopened(retriever)

    def _reopened(self, stale: HybridRetriever) -> HybridRetriever:
        """A retriever over indexes saved since ``stale`` opened (by a checkpoint, or another process); while
        one thread opens it, the others go on with the old one rather than wait."""
        if not self._reopen_lock.acquire(blocking=False):
            return stale
        try:
            if self._retriever is stale:
                self._retriever = self._open_retriever()
            return self._retriever or stale
        finally:
            self._reopen_lock.release()

    @property
    def answerer(self) -> Answerer:
        return self._once("_answerer", self._build_answerer)

    def _build_answerer(self) -> Answerer:
        if self.settings.experts:  # AMALGAM_EXPERTS: a routed expert answers (app/experts/serving.py)
            from app.experts.serving import ExpertAnswerer

            return ExpertAnswerer(self.embedder, self.experts)
        return Answerer(self.embedder, services.get_chat_model(self.settings, self.usage))

    @property
    def experts(self) -> ExpertService:
        """The workspace's expert LLMs and router (its experts.yaml), opened on first use."""
        from app.experts.serving import ExpertService

        return self._once("_experts", lambda: ExpertService.open(self.settings, self.store, self.embedder))

    def _build_pipeline(self) -> Pipeline:
        return Pipeline(
            settings=self.settings,
            store=self.store,
            embedder=self.embedder,
            chunker=services.get_chunker(self.settings, self.embedder),
            extractor=services.get_extractor(self.settings, self.usage),
            summarize=services.get_summarizer(self.settings, self.usage),
        )

    @property
    def entity_names(self) -> NameVectors:
        """TreeHop's embedded entity names, kept for the workspace's life: every retriever a write swaps in
        starts with the names earlier questions embedded, and the cache file carries them over restarts."""
        return self._once("_names", self._load_names)

    def _load_names(self) -> NameVectors:
        names = name_vectors(self.embedder)
        names.load(self.settings.workspace_dir / NAME_CACHE)
        return names

    def _open_retriever(self) -> HybridRetriever:
        names = self.entity_names if self.settings.treehop_context == "mentions" else None
        return services.get_retriever(self.settings, self.store, self.embedder, names)

    def close(self) -> None:
        if self._names is not None and self._names.unsaved:
            self._names.save(self.settings.workspace_dir / NAME_CACHE)
        if self._store is not None:
            self._store.close()

    # -- documents (writes: one at a time) ---------------------------------------------------------
    def ingest(
        self, paths: Sequence[Path], progress: ProgressCallback | None = None, *, wait_seconds: float | None = None
    ) -> IngestReport:
        """Ingest ``paths``; ``wait_seconds`` bounds the wait for another writer (``WorkspaceBusyError``)."""
        with self._writing(wait_seconds):
            report = self.pipeline.ingest(paths, progress)
            report.llm_tokens = self.usage.as_dict() if self.usage.calls else {}
        return report

    def write_prepared(self, files: Iterable[PreparedFile], progress: ProgressCallback | None = None) -> IngestReport:
        """Write files prepared elsewhere (the Ray engine's actors): ``ingest`` without its pure half."""
        with self._writing():
            report = self.pipeline.write_prepared(files, progress)
            report.llm_tokens = self.usage.as_dict() if self.usage.calls else {}
        return report

    def delete_document(self, doc_id: str, *, wait_seconds: float | None = None) -> DeleteReport:
        with self._writing(wait_seconds):
            return self.pipeline.delete_document(doc_id)

    @contextmanager
    def _writing(self, wait_seconds: float | None = None) -> Iterator[None]:
        """One writer per workspace: this engine's threads, and every process that opens the workspace. A write
        starts from what others saved before it and ends by swapping in a retriever over what it saved."""
        started = time.monotonic()
        with ExitStack() as held:
            if not self._write_lock.acquire(timeout=-1 if wait_seconds is None else wait_seconds):
                raise self._busy(wait_seconds)
            held.callback(self._write_lock.release)
            left = None if wait_seconds is None else max(0.0, wait_seconds - (time.monotonic() - started))
            try:
                held.enter_context(workspace_write_lock(self.settings, timeout=left))
            except TimeoutError:
                raise self._busy(wait_seconds) from None
            if self._pipeline is not None:
                self._pipeline.forget_stale_indexes()
            yield
            self._swap_retriever()

    def _busy(self, waited: float | None) -> WorkspaceBusyError:
        return WorkspaceBusyError(
            f"workspace {self.settings.workspace!r} is being written (an ingest, a job or a delete, here or in "
            f"another process) and was not free within {waited:g} s; try again when it is done, or send the "
            "files as a job"
        )

    def _swap_retriever(self) -> None:
        """Open a retriever over the indexes the write just saved, then let new questions use it."""
        if self._retriever is not None:
            self._retriever = self._open_retriever()

    # -- reads (any number at once) ----------------------------------------------------------------
    def list_documents(self) -> list[DocumentSummary]:
        return [_summary(d) for d in self.store.list_documents()]

    def get_document(self, doc_id: str) -> DocumentSummary | None:
        document = self.store.get_document(doc_id)
        return None if document is None else _summary(document)

    def list_communities(self, level: int | None = None) -> list[Community]:
        """The community hierarchy (one level, or all), largest first within each level."""
        found = self.store.get_communities(level)
        return sorted(found, key=lambda c: (c.level, -c.size, c.id))

    def retrieve(self, question: str, *, top_k: int | None = None, mode: str | None = None) -> RetrievalResult:
        if not question.strip():
            raise RetrievalError("the question is empty")
        return self.retriever.retrieve(
            question, k=top_k or self.settings.top_k, mode=mode or self.settings.retrieval_mode
        )

    def ask(self, question: str, *, top_k: int | None = None, mode: str | None = None) -> Answer:
        return self.answer(self.retrieve(question, top_k=top_k, mode=mode))

    def answer(self, result: RetrievalResult) -> Answer:
        """The answer to a retrieval's question from its evidence (the API retrieves and answers apart)."""
        return self.answerer.answer(result)


def _summary(d: Document) -> DocumentSummary:
    return DocumentSummary(
        id=d.id, title=d.title, source=d.source, hash=d.hash, pages=len(d.pages), status=document_status(d.hash)
    )


def document_status(stored_hash: str) -> str:
    """ "pending" while an ingest is writing the document (or was interrupted there), else "ready"."""
    return "ready" if stored_hash else "pending"
