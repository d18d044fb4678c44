"""Ingest through the real Pipeline (spaCy, MiniLM, FAISS + BM25) on both stores: a document the
store refuses fails alone, a crash before the index checkpoint leaves only pending documents that
the next run finishes, and re-ingest stays a no-op while a changed source replaces its old version."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import load_settings
from app.engine import Engine
from graph.store.base import GraphStore
from ingest.errors import StorageError
from ingest.models import Document
from retrieval.index.indexset import IndexSet

TEXTS = [
    "Ada Lovelace wrote the first published algorithm for the Analytical Engine of Charles Babbage.",
    "The Analytical Engine was a mechanical computer designed by Charles Babbage in London.",
    "Grace Hopper developed an early compiler and worked on the Harvard Mark I computer.",
    "Alan Turing worked at Bletchley Park and described the universal Turing machine.",
]


def documents(texts: list[str]) -> list[Document]:
    return [Document.from_text(text, source=f"/corpus/doc{i}.txt", title=f"Doc {i}") for i, text in enumerate(texts)]


@pytest.fixture
def engine(graph_store: GraphStore, tmp_path: Path) -> Engine:
    settings = load_settings(data_dir=tmp_path / "data", workspace=graph_store.workspace)
    return Engine(settings, store=graph_store)


def indexed_chunk_ids(engine: Engine) -> set[str]:
    """The chunk ids in the indexes as saved on disk (what a fresh process would open)."""
    saved = IndexSet.open(engine.settings.workspace_dir, engine.embedder.dim)
    assert set(saved.sparse._texts) == set(saved.dense.chunk_ids)
    return set(saved.dense.chunk_ids)


def stored_chunk_ids(engine: Engine) -> set[str]:
    return {c.id for c in engine.store.iter_chunks()}


def test_a_document_the_store_refuses_fails_alone(engine: Engine) -> None:
    good = documents(TEXTS)
    # Loaders bound a document's source; one built another way (model_copy skips validation) meets the
    # store's own check, which refuses it before anything of it is written.
    oversized = Document.from_text("Marie Curie discovered radium in Paris.", source="/corpus/x", title="X")
    oversized = oversized.model_copy(update={"source": "/corpus/" + "x" * 10_000})
    report = engine.pipeline.ingest_documents([good[0], oversized, *good[1:]])

    assert len(report.errors) == 1
    assert "source too long" in report.errors[0].error
    assert len(report.errors[0].path) <= 500  # the report names the document without repeating 10 KB
    assert report.documents_new == len(good)
    stored = engine.store.get_documents([d.id for d in [*good, oversized]])
    assert [d.id for d in stored] == [d.id for d in good] and all(d.hash for d in stored)
    assert engine.store.find_entities(["Marie Curie"]) == []  # nothing of the refused document is left
    assert indexed_chunk_ids(engine) == stored_chunk_ids(engine) != set()


def test_a_crash_before_the_checkpoint_leaves_pending_documents_that_the_next_run_finishes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = documents(TEXTS)

    def disk_full() -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(engine.pipeline.indexes, "save", disk_full)
    with pytest.raises(StorageError, match="No space left on device.*finished documents are kept"):
        engine.pipeline.ingest_documents(docs)
    assert [d.hash for d in engine.store.get_documents([d.id for d in docs])] == [""] * len(docs)  # all pending
    monkeypatch.undo()

    again = engine.pipeline.ingest_documents(docs)
    assert again.documents_new == len(docs) and again.documents_unchanged == 0
    assert [d.hash for d in engine.store.get_documents([d.id for d in docs])] == [d.hash for d in docs]
    assert indexed_chunk_ids(engine) == stored_chunk_ids(engine) != set()


def test_reingest_is_a_no_op_and_a_changed_source_replaces_its_old_version(engine: Engine) -> None:
    docs = documents(TEXTS)
    first = engine.pipeline.ingest_documents(docs)
    before = engine.store.stats()
    assert first.documents_new == len(docs) and first.chunks == before.chunks

    unchanged = engine.pipeline.ingest_documents(docs)
    assert (unchanged.documents_unchanged, unchanged.documents_new, unchanged.chunks) == (len(docs), 0, 0)
    assert engine.store.stats() == before

    changed = Document.from_text(TEXTS[3].replace("Bletchley Park", "Manchester"), source=docs[3].source, title="Doc 3")
    report = engine.pipeline.ingest_documents([*docs[:3], changed])
    assert (report.documents_replaced, report.documents_unchanged) == (1, 3)
    assert engine.store.get_documents([docs[3].id]) == [] and engine.store.get_documents([changed.id])[0].hash
    assert engine.store.find_entities(["Bletchley Park"]) == []
    assert indexed_chunk_ids(engine) == stored_chunk_ids(engine)
    assert engine.store.stats().documents == len(docs)


def test_progress_gives_the_totals_before_the_first_file(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    rows = [f'{{"id": "p{i}", "title": "Doc {i}", "text": "{text}"}}' for i, text in enumerate(TEXTS)]
    (folder / "passages.jsonl").write_text("\n".join(rows[:2]) + "\n\n" + "\n".join(rows[2:]) + "\n")
    (folder / "note.txt").write_text("Ada Lovelace was born in London.")
    os.mkfifo(folder / "pipe")  # skipped with its reason: no document
    events: list[tuple[str, int]] = []
    report = engine.ingest([folder], lambda event, amount: events.append((event, amount)))

    assert events[:2] == [("files-total", 3), ("documents-total", 5)]  # 4 JSONL rows (the blank line is none) + 1
    done = {name: sum(n for event, n in events if event == name) for name in ("file", "document", "chunk")}
    assert done == {"file": 3, "document": 5, "chunk": report.chunks}
