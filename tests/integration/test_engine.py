"""``Engine`` end to end on both stores: ingest, list, retrieve, delete, and resuming an interrupted ingest.

The interruption is a real crash in the middle of an ingest (the store raises while a later batch's chunks
are being written, as a killed process or a dropped connection would leave it); the next run must end in the
same graph and indexes as a run that was never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from app.engine import Engine
from graph.store.base import GraphStore
from retrieval.treehop.mentions import NAME_CACHE
from tests.conftest import StoreFactory
from tests.graph_snapshot import graph_snapshot

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
FILES = sorted(p for p in SAMPLE.iterdir() if p.suffix in {".txt", ".md", ".html", ".pdf"})
TEXT_FILES = [p for p in FILES if p.suffix != ".pdf"]


class Crash(Exception):
    """Stands for the process dying mid-ingest."""


def _engine(tmp_path: Path, store: GraphStore, name: str, batch_size: int | None = None) -> Engine:
    settings = load_settings(data_dir=tmp_path / name, workspace=store.workspace, chunker="sentence")
    engine = Engine(settings, store=store)
    if batch_size is not None:
        engine.pipeline.batch_size = batch_size
    return engine


def test_ingest_list_retrieve_delete(graph_store_factory: StoreFactory, tmp_path: Path) -> None:
    engine = _engine(tmp_path, graph_store_factory(), "one")
    report = engine.ingest(FILES)
    assert report.errors == [] and report.documents_new == len(FILES)
    listed = engine.list_documents()
    assert len(listed) == len(FILES) and {d.status for d in listed} == {"ready"}

    result = engine.retrieve("Where was Ingrid Solberg born?", top_k=3)
    assert result.evidence[0].title == "ingrid_solberg"
    pdf = engine.retrieve("How many passengers did the Northern Coast Railway carry?", top_k=3)
    assert any(e.chunk.page for e in pdf.evidence), "PDF evidence carries its page"

    solberg = next(d for d in listed if d.title == "ingrid_solberg")
    assert engine.delete_document(solberg.id).found
    after = engine.retrieve("Where was Ingrid Solberg born?", top_k=3)
    assert all(e.chunk.doc_id != solberg.id for e in after.evidence)
    assert engine.ingest(FILES).documents_new == 1  # only the deleted one comes back


# Where the third document's write dies: before its chunks land, or after its entities landed but before
# their mentions (two transactions: the entities are left without mentions, as Neo4j stopping there left them).
@pytest.mark.parametrize("crash_in", ["upsert_chunks", "upsert_mentions"])
def test_interrupted_ingest_resumes_to_the_uninterrupted_result(
    graph_store_factory: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_in: str
) -> None:
    # One document per batch in every run: entity resolution depends on which mentions meet in a batch,
    # so only runs with the same batches can be compared id for id.
    reference = _engine(tmp_path, graph_store_factory(), "reference", batch_size=1)
    reference.ingest(TEXT_FILES)
    expected = graph_snapshot(reference)

    crashed = _engine(tmp_path, graph_store_factory(), "crashed", batch_size=1)
    crashed.pipeline.checkpoint_seconds = 0  # indexes saved and documents marked done after every batch
    write = getattr(crashed.store, crash_in)
    calls = {"n": 0}

    def write_then_crash(rows):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:  # the third document is stored as pending, these rows of it never land
            raise Crash
        return write(rows)

    monkeypatch.setattr(crashed.store, crash_in, write_then_crash)
    with pytest.raises(Crash):
        crashed.ingest(TEXT_FILES)
    statuses = {d.status for d in crashed.list_documents()}
    assert "pending" in statuses, "the document being written when it crashed is marked pending"

    resumed = _engine(tmp_path, crashed.store, "crashed", batch_size=1)  # a new process, same workspace
    report = resumed.ingest(TEXT_FILES)
    assert report.errors == []
    assert report.documents_unchanged == 2, "documents finished before the crash are not redone"
    assert graph_snapshot(resumed) == expected
    assert {d.status for d in resumed.list_documents()} == {"ready"}


def test_a_file_over_the_size_limit_is_refused_and_the_rest_ingests(tmp_path: Path) -> None:
    big = tmp_path / "inbox" / "big.txt"
    big.parent.mkdir()
    big.write_text("All work and no play makes a dull report. " * 30_000)  # ~1.3 MB
    (tmp_path / "inbox" / "small.txt").write_text("Ingrid Solberg was born in Bergen.")
    engine = Engine(load_settings(data_dir=tmp_path / "data", chunker="sentence", ingest_max_file_mb=1))
    report = engine.ingest([big.parent])
    assert report.documents_new == 1
    assert len(report.errors) == 1 and "big.txt" in report.errors[0].error and "1" in report.errors[0].error
    engine.close()


def test_embedded_entity_names_outlive_a_write_and_a_restart(tmp_path: Path) -> None:
    """TreeHop embeds the names its questions reach once per workspace, not once per retriever: the retriever
    an ingest swaps in keeps them, and a new engine on the workspace reads them back from the cache file."""
    settings = load_settings(data_dir=tmp_path, chunker="sentence")
    engine = Engine(settings)
    engine.ingest([SAMPLE / "ingrid_solberg.txt"])
    engine.retrieve("Which river flows through the town where Ingrid Solberg was born?", mode="multihop")
    names = engine.entity_names
    embedded = len(names)
    assert embedded > 0 and names.unsaved == embedded

    engine.ingest([SAMPLE / "kestrel_river.html"])  # a write: a new retriever over the new indexes
    assert engine.retriever.multihop.mentions.names is names  # type: ignore[union-attr]
    assert len(names) == embedded
    engine.close()
    assert (settings.workspace_dir / NAME_CACHE).is_file()

    reopened = Engine(settings)
    try:
        assert len(reopened.entity_names) == embedded and reopened.entity_names.unsaved == 0
    finally:
        reopened.close()
