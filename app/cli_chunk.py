"""``amalgam chunk FILE``: print one file's chunks with their offsets, to inspect boundaries."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from app.config import Settings, load_settings
from app.errors import AmalgamError
from ingest.chunking.base import Chunker
from ingest.chunking.lm import load_lm
from ingest.chunking.registry import build_chunker
from ingest.embedder import Embedder
from ingest.loaders import load_path
from ingest.models import Chunk

PREVIEW_CHARS = 80


def _embedder_if_needed(chunker: str, settings: Settings) -> Embedder | None:
    """Load the embedder only for semantic chunking, or when an LM chunker must fall back to it."""
    if chunker in ("perplexity", "margin"):
        try:
            load_lm(settings.chunk_lm)
            return None
        except AmalgamError:
            pass
    elif chunker != "semantic":
        return None
    from retrieval.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.embedding_model, device=settings.device)


def _make_chunker(chunker: str, settings: Settings) -> Chunker:
    return build_chunker(
        chunker,
        target_tokens=settings.chunk_target_tokens,
        max_tokens=settings.chunk_max_tokens,
        embedder=_embedder_if_needed(chunker, settings),
        lm=settings.chunk_lm,
    )


def _table(chunks: list[Chunk]) -> Table:
    table = Table("doc", "#", "start", "end", "pages", "chunker", "text")
    for chunk in chunks:
        preview = chunk.text.replace("\n", " ")
        if len(preview) > PREVIEW_CHARS:
            preview = preview[: PREVIEW_CHARS // 2] + " … " + preview[-PREVIEW_CHARS // 2 :]
        pages = ",".join(map(str, chunk.pages))
        table.add_row(chunk.doc_id, str(chunk.index), str(chunk.start), str(chunk.end), pages, chunk.chunker, preview)
    return table


def chunk_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The file to chunk."),
    chunker: str = typer.Option("perplexity", help="fixed | sentence | semantic | perplexity | margin"),
    as_json: bool = typer.Option(False, "--json", help="Print the chunks as JSON lines."),
) -> None:
    """Print the chunks of one file with their offsets, pages and the chunker that made them."""
    console, errors = Console(), Console(stderr=True)
    try:
        settings = load_settings()
        documents = load_path(file)
        splitter = _make_chunker(chunker, settings)
        chunks = [chunk for doc in documents for chunk in splitter.chunk(doc)]
    except AmalgamError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        for chunk in chunks:
            typer.echo(json.dumps(chunk.model_dump(), ensure_ascii=False))
    else:
        console.print(_table(chunks))
