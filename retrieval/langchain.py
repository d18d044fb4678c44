"""The hybrid retriever as a LangChain ``BaseRetriever``: evidence becomes ``Document``s with citations."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.types import Evidence


def evidence_to_document(evidence: Evidence) -> LCDocument:
    chunk = evidence.chunk
    return LCDocument(
        page_content=chunk.text,
        id=chunk.id,
        metadata={
            "chunk_id": chunk.id,
            "doc_id": chunk.doc_id,
            "title": evidence.title,
            "source": evidence.source,
            "page": chunk.page,
            "score": evidence.score,
            "retrievers": list(evidence.retrievers),
            "entities": list(evidence.entities),
        },
    )


class AmalgamRetriever(BaseRetriever):
    """``AmalgamRetriever(retriever=HybridRetriever(...), k=5, mode="hybrid").invoke("question")``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # retrieval.retriever.HybridRetriever (Any: pydantic cannot validate the class itself)
    k: int = 5
    mode: str = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        result = self.retriever.retrieve(query, k=self.k, mode=self.mode)
        return [evidence_to_document(e) for e in result.evidence]
