"""``Engine``: one workspace's store, models, retriever and answerer, opened once and shared.

The CLI, the REST API and jobs all go through an Engine, so they behave the same. Heavy parts
(models, indexes) are created on first use, so a command that only lists documents stays fast.

Concurrency: questions run in parallel on any number of threads; writes (ingest, delete) take the
workspace's write lock, so they run one at a time. A question never waits for a write: it uses the
retriever it found when it started, and a write swaps in a retriever over the new indexes when it is
done (the swap is one assignment).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from app import services
from app.answer import Answerer
from app.config import Settings
from app.errors import RetrievalError
from app.llm.usage import TokenUsage
from app.pipeline import IngestReport, Pipeline, ProgressCallback
from app.prepare import PreparedFile
from app.results import Answer, DocumentSummary
from graph.models import Community
from graph.store.base import DeleteReport, GraphStore
from ingest.embedder import Embedder
from ingest.models import Document
from retrieval.retriever import HybridRetriever
from retrieval.signals.treehop import name_vectors
from retrieval.treehop.mentions import NAME_CACHE, NameVectors
from retrieval.types import RetrievalResult

if TYPE_CHECKING:
    from app.experts.serving import ExpertService

T = TypeVar("T")


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
        return self._once("_retriever", self._open_retriever)

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
    def ingest(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> IngestReport:
        with self._write_lock:
            report = self.pipeline.ingest(paths, progress)
            report.llm_tokens = self.usage.as_dict() if self.usage.calls else {}
            self._swap_retriever()
        return report

    def write_prepared(self, files: Iterable[PreparedFile], progress: ProgressCallback | None = None) -> IngestReport:
        """Write files prepared elsewhere (the Ray engine's actors): ``ingest`` without its pure half."""
        with self._write_lock:
            report = self.pipeline.write_prepared(files, progress)
            report.llm_tokens = self.usage.as_dict() if self.usage.calls else {}
            self._swap_retriever()
        return report

    def delete_document(self, doc_id: str) -> DeleteReport:
        with self._write_lock:
            report = self.pipeline.delete_document(doc_id)
            self._swap_retriever()
        return report

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
