"""Communities kept fresh by ingest and delete, and global search over them, on both stores.

The sample documents are ingested through ``Engine`` (the product's pipeline, spaCy extraction): the
ingest must leave a community hierarchy behind without any manual rebuild, a delete must drop the deleted
document's entities from it, and global mode must answer from community summaries with evidence that is
real chunks of real documents.
"""

from __future__ import annotations

from pathlib import Path

from app.config import load_settings
from app.engine import Engine
from graph.hierarchy.communities import load_entity_graph
from graph.store.base import GraphStore
from tests.conftest import StoreFactory

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
FILES = sorted(p for p in SAMPLE.iterdir() if p.suffix in {".txt", ".md", ".html", ".pdf"})


def _engine(tmp_path: Path, store: GraphStore, **overrides: object) -> Engine:
    settings = load_settings(data_dir=tmp_path, workspace=store.workspace, chunker="sentence", **overrides)
    return Engine(settings, store=store)


def _leaf_entities(store: GraphStore) -> set[str]:
    return {member for c in store.get_communities(level=0) for member in c.members}


def test_ingest_leaves_communities_fresh_and_a_delete_updates_them(
    graph_store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = graph_store_factory()
    engine = _engine(tmp_path, store)
    report = engine.ingest(FILES)
    assert report.communities is not None and report.communities.communities > 0
    communities = store.get_communities()
    assert len(communities) == report.communities.communities
    assert all(c.summary and c.size >= 2 and c.chunk_ids for c in communities if c.level == 0)
    chunk_ids = {c.id for c in store.iter_chunks()}
    assert {chunk for c in communities for chunk in c.chunk_ids} <= chunk_ids

    solberg = next(d for d in engine.list_documents() if d.title == "ingrid_solberg")
    only_solberg = {
        e.id
        for e in store.get_entities(sorted(_leaf_entities(store)))
        if {store.get_chunks([c])[0].doc_id for c in e.descriptions_by_source} == {solberg.id}
    }
    assert only_solberg, "the sample gives Solberg's document entities of its own"
    assert engine.delete_document(solberg.id).found
    after = store.get_communities()
    assert not any(c.stale for c in after), "the delete rebuilt the communities it touched"
    assert not only_solberg & _leaf_entities(store)
    remaining = {c.id for c in store.iter_chunks()}
    assert {chunk for c in after for chunk in c.chunk_ids} <= remaining


def test_a_second_ingest_extends_the_communities_with_its_entities(
    graph_store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = graph_store_factory()
    engine = _engine(tmp_path, store, communities_rebuild_share=10.0)
    first = engine.ingest(FILES[:-1])
    assert first.communities is not None and first.communities.mode == "full"  # a workspace's first refresh
    kept = {c.id: c.summary for c in store.get_communities()}
    second = engine.ingest(FILES[-1:])
    assert second.communities is not None and second.communities.mode == "extended"
    graph = load_entity_graph(store)
    linked = {graph.entities[a].id for a, _ in graph.edges} | {graph.entities[b].id for _, b in graph.edges}
    assert _leaf_entities(store) == linked, "every entity with a link is in a community, the new ones too"
    after = store.get_communities()
    assert any(c.id in kept and c.summary == kept[c.id] for c in after), "untouched communities stay as they were"
    assert engine.delete_document(engine.list_documents()[0].id).found
    assert not any(c.stale for c in store.get_communities()), "a delete rebuilds in full"


def test_communities_off_leaves_them_to_the_manual_rebuild(graph_store_factory: StoreFactory, tmp_path: Path) -> None:
    store = graph_store_factory()
    report = _engine(tmp_path, store, communities="off").ingest(FILES)
    assert report.communities is None and store.get_communities() == []


def test_global_mode_answers_from_communities_citing_real_chunks(
    graph_store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = graph_store_factory()
    engine = _engine(tmp_path, store)
    engine.ingest(FILES)
    answer = engine.ask("What are the main themes of these documents?", top_k=4, mode="global")
    assert answer.communities and answer.sources
    stored = {c.id: c for c in store.iter_chunks()}
    assert all(
        source.chunk_id in stored and stored[source.chunk_id].doc_id == source.doc_id for source in answer.sources
    )
    cited = {n for community in answer.communities for n in community.sources}
    assert cited and cited <= set(range(1, len(answer.sources) + 1))
    assert all(f"[{n}]" in answer.answer for n in cited)
    summaries = {c.id: c.summary for c in store.get_communities()}
    assert all(community.summary == summaries[community.id] for community in answer.communities)


def test_auto_mode_says_what_it_chose(graph_store_factory: StoreFactory, tmp_path: Path) -> None:
    engine = _engine(tmp_path, graph_store_factory())
    engine.ingest(FILES)
    broad = engine.retrieve("Summarize the themes of these documents", mode="auto")
    assert broad.communities and any("auto mode chose global" in note for note in broad.notes)
    specific = engine.retrieve("Where was Ingrid Solberg born?", mode="auto")
    assert not specific.communities and any("auto mode chose local" in note for note in specific.notes)


def test_global_mode_without_communities_answers_locally_and_says_so(
    graph_store_factory: StoreFactory, tmp_path: Path
) -> None:
    engine = _engine(tmp_path, graph_store_factory(), communities="off")
    engine.ingest(FILES)
    result = engine.retrieve("What are the main themes of these documents?", mode="global")
    assert result.evidence and not result.communities
    assert any("no communities" in note for note in result.notes)
    assert any("fell back to dense+bm25" in note for note in result.notes)


def test_global_mode_over_an_empty_workspace(graph_store_factory: StoreFactory, tmp_path: Path) -> None:
    engine = _engine(tmp_path, graph_store_factory())
    answer = engine.ask("What are the main themes of these documents?", mode="global")
    assert answer.sources == [] and answer.communities == []
    assert any("no indexed chunks" in note for note in answer.notes)
