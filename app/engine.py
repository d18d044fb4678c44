"""``Engine``: one workspace's store, models, retriever and answerer, opened once and shared.

The CLI, the REST API and jobs all go through an Engine, so they behave the same. Heavy parts
(models, indexes) are created on first use, so a command that only lists documents stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from app import services
from app.answer import Answerer
from app.config import Settings
from app.errors import RetrievalError
from app.llm.usage import TokenUsage
from app.results import Answer, DocumentSummary
from app.pipeline import IngestReport, Pipeline, ProgressCallback
from graph.store.base import DeleteReport, GraphStore
from ingest.embedder import Embedder
from retrieval.types import RetrievalResult


class Engine:
    def __init__(self, settings: Settings, store: GraphStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self.usage = TokenUsage()  # tokens every LLM call of this engine spent

    @cached_property
    def store(self) -> GraphStore:
        return self._store or services.open_store(self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        return services.get_embedder(self.settings)

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(
            settings=self.settings,
            store=self.store,
            embedder=self.embedder,
            chunker=services.get_chunker(self.settings, self.embedder),
            extractor=services.get_extractor(self.settings, self.usage),
            summarize=services.get_summarizer(self.settings, self.usage),
        )

    @cached_property
    def retriever(self) -> Any:
        return services.get_retriever(self.settings, self.store, self.embedder)

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(self.embedder, services.get_chat_model(self.settings, self.usage))

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    # -- documents ---------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> IngestReport:
        report = self.pipeline.ingest(paths, progress)
        report.llm_tokens = self.usage.as_dict() if self.usage.calls else {}
        self._indexes_changed()
        return report

    def delete_document(self, doc_id: str) -> DeleteReport:
        report = self.pipeline.delete_document(doc_id)
        self._indexes_changed()
        return report

    def list_documents(self) -> list[DocumentSummary]:
        return [
            DocumentSummary(id=d.id, title=d.title, source=d.source, hash=d.hash, pages=len(d.pages))
            for d in self.store.list_documents()
        ]

    def _indexes_changed(self) -> None:
        self.__dict__.pop("retriever", None)  # reopen the persisted indexes on next question

    # -- questions ---------------------------------------------------------------------------------
    def retrieve(self, question: str, *, top_k: int | None = None, mode: str | None = None) -> RetrievalResult:
        if not question.strip():
            raise RetrievalError("the question is empty")
        result: RetrievalResult = self.retriever.retrieve(
            question, k=top_k or self.settings.top_k, mode=mode or self.settings.retrieval_mode
        )
        return result

    def ask(self, question: str, *, top_k: int | None = None, mode: str | None = None) -> Answer:
        return self.answerer.answer(self.retrieve(question, top_k=top_k, mode=mode))
