"""Community hierarchy on both stores: bottom-up Leiden levels, PARENT links, summaries, stale reset, and the
hierarchy extended after an ingest."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from app.communities import refresh_communities
from app.config import load_settings
from graph.hierarchy.communities import rebuild_communities
from graph.hierarchy.incremental import extend_communities
from graph.models import Community, EntityRecord, MentionRecord, RelationRecord, stable_id
from graph.store.base import GraphStore
from ingest.models import Chunk, Document, PageSpan


def two_line_document(store: GraphStore, text: str, name: str) -> list[Chunk]:
    """Store a document of two lines as two chunks (one per line); returns the chunks."""
    document = Document.from_text(
        text, source=f"/t/{name}.txt", title=name, pages=[PageSpan(page=1, start=0, end=len(text))]
    )
    split = text.index("\n")
    chunks = [
        Chunk.from_span(document, 0, 0, split, "test"),
        Chunk.from_span(document, 1, split + 1, len(text), "test"),
    ]
    store.upsert_documents([document])
    store.upsert_chunks(chunks)
    return chunks


def two_cliques(store: GraphStore) -> tuple[list[str], list[str]]:
    """Two dense groups of five entities (one chunk each), joined by a single weak relation."""
    chunks = two_line_document(store, "group one\ngroup two", "c")
    groups = [[f"ent-a{i}" for i in range(5)], [f"ent-b{i}" for i in range(5)]]
    store.upsert_entities(
        [
            EntityRecord(id=e, name=e.upper(), type="ORG", description=f"{e} description")
            for group in groups
            for e in group
        ]
    )
    mentions, relations = [], []
    for chunk, group in zip(chunks, groups, strict=True):
        mentions += [MentionRecord(chunk_id=chunk.id, entity_id=e, name=e.upper()) for e in group]
        relations += [
            RelationRecord(source_id=a, target_id=b, type="PARTNER_OF", chunk_id=chunk.id)
            for i, a in enumerate(group)
            for b in group[i + 1 :]
        ]
    relations.append(RelationRecord(source_id="ent-a0", target_id="ent-b0", type="KNOWS", chunk_id=chunks[0].id))
    store.upsert_mentions(mentions)
    store.upsert_relations(relations)
    return groups[0], groups[1]


def test_rebuild_writes_levels_with_parents_and_summaries(graph_store: GraphStore) -> None:
    first, second = two_cliques(graph_store)
    communities = rebuild_communities(graph_store, seed=1)
    level0 = [c for c in communities if c.level == 0]
    assert sorted(sorted(c.members) for c in level0) == [first, second]
    assert all(c.summary and c.title for c in level0)
    assert "PARTNER OF".lower() in level0[0].summary.lower()
    stored = graph_store.get_communities()
    assert {c.id for c in stored} == {c.id for c in communities}
    upper = [c for c in stored if c.level > 0]
    for parent in upper:
        children = [c for c in stored if c.parent_id == parent.id]
        assert sorted(c.id for c in children) == sorted(parent.members)
    assert rebuild_communities(graph_store, seed=1) == communities  # deterministic for a seed


def test_delete_marks_stale_and_rebuild_clears_it(graph_store: GraphStore) -> None:
    first, second = two_cliques(graph_store)
    text = "a0 and b0 again"
    other = Document.from_text(text, source="/t/d.txt", title="d", pages=[PageSpan(page=1, start=0, end=len(text))])
    chunk = Chunk.from_span(other, 0, 0, len(text), "test")
    graph_store.upsert_documents([other])
    graph_store.upsert_chunks([chunk])
    graph_store.upsert_mentions([MentionRecord(chunk_id=chunk.id, entity_id=e, name=e) for e in (first[0], second[0])])
    graph_store.upsert_relations(
        [RelationRecord(source_id=first[0], target_id=second[0], type="KNOWS", chunk_id=chunk.id)]
    )
    rebuild_communities(graph_store)
    graph_store.delete_document(next(d.id for d in graph_store.list_documents() if d.source == "/t/c.txt"))
    assert any(c.stale for c in graph_store.get_communities())
    rebuilt = rebuild_communities(graph_store)
    assert not any(c.stale for c in graph_store.get_communities())
    assert {m for c in rebuilt if c.level == 0 for m in c.members} == {first[0], second[0]}


def test_llm_summaries_are_used_when_configured(graph_store: GraphStore) -> None:
    two_cliques(graph_store)
    communities = rebuild_communities(graph_store, summarize=lambda title, facts: f"about {title}")
    assert all(c.summary == f"about {c.title}" for c in communities)


def test_communities_carry_size_chunks_and_names(graph_store: GraphStore) -> None:
    first, second = two_cliques(graph_store)
    rebuild_communities(graph_store, seed=1)
    chunk_of_group = {c.doc_id: c.id for c in graph_store.iter_chunks()}
    assert len(chunk_of_group) == 1  # both groups live in one document: one central chunk each
    for community in graph_store.get_communities(level=0):
        assert community.size == 5 and community.chunk_count >= 1
        assert len(community.chunk_ids) == 1  # one chunk per document
        assert set(community.entity_names) == {e.upper() for e in community.members}


def test_unchanged_communities_keep_their_llm_summary(graph_store: GraphStore) -> None:
    two_cliques(graph_store)
    rebuild_communities(graph_store, summarize=lambda title, facts: f"first {title}")
    calls: list[str] = []

    def second(title: str, facts: list[str]) -> str:
        calls.append(title)
        return f"second {title}"

    again = rebuild_communities(graph_store, summarize=second, reuse_summaries=True)
    assert calls == [] and all(c.summary.startswith("first") for c in again)


def test_a_failed_llm_summary_keeps_the_extract_and_is_counted(graph_store: GraphStore) -> None:
    from graph.hierarchy.summaries import SummaryTally

    two_cliques(graph_store)

    def failing(title: str, facts: list[str]) -> str:
        raise TimeoutError("the LLM did not answer")

    tally = SummaryTally()
    communities = rebuild_communities(graph_store, summarize=failing, tally=tally)
    assert tally.failed == len(communities) and tally.written == 0
    assert all(c.summary for c in communities)


def add_document(store: GraphStore) -> tuple[list[str], list[str]]:
    """A new document: one chunk linking new entities n0, n1 to ent-a0, one naming only new m0..m2."""
    chunks = two_line_document(store, "news about a0\nsomething apart", "n")
    near, apart = ["ent-n0", "ent-n1"], ["ent-m0", "ent-m1", "ent-m2"]
    store.upsert_entities([EntityRecord(id=e, name=e.upper(), type="ORG") for e in near + apart])
    store.upsert_mentions(
        [MentionRecord(chunk_id=chunks[0].id, entity_id=e, name=e.upper()) for e in ["ent-a0", *near]]
        + [MentionRecord(chunk_id=chunks[1].id, entity_id=e, name=e.upper()) for e in apart]
    )
    store.upsert_relations(
        [RelationRecord(source_id="ent-n0", target_id="ent-a0", type="PART_OF", chunk_id=chunks[0].id)]
        + [RelationRecord(source_id=a, target_id=b, type="KNOWS", chunk_id=chunks[1].id) for a, b in pairwise(apart)]
    )
    return near, [c.id for c in chunks]


def leaves(community: Community, by_id: dict[str, Community]) -> set[str]:
    if community.level == 0:
        return set(community.members)
    return set().union(*(leaves(by_id[m], by_id) for m in community.members))


def test_extending_places_new_entities_and_keeps_untouched_communities(graph_store: GraphStore) -> None:
    first, second = two_cliques(graph_store)
    before = {c.id: c for c in rebuild_communities(graph_store, seed=1)}
    near, new_chunks = add_document(graph_store)
    communities = extend_communities(graph_store, list(before.values()), new_chunks, seed=1)
    graph_store.replace_communities(communities)
    stored = {c.id: c for c in graph_store.get_communities()}
    assert stored.keys() == {c.id for c in communities}

    level0 = [c for c in stored.values() if c.level == 0]
    homes = {e: c for c in level0 for e in c.members}
    assert sorted(homes) == sorted(first + second + near + ["ent-m0", "ent-m1", "ent-m2"])  # each once
    assert set(homes["ent-a0"].members) == set(first + near)  # joined the community they link to
    assert set(homes["ent-m0"].members) == {"ent-m0", "ent-m1", "ent-m2"}  # a community of their own
    assert homes["ent-a0"].chunk_count == 2 and homes["ent-m0"].chunk_count == 1
    untouched = homes["ent-b0"]
    assert untouched.id in before and untouched.summary == before[untouched.id].summary
    for community in stored.values():  # ids, sizes and links as a full rebuild writes them
        entity_set = leaves(community, stored)
        assert community.id == stable_id("com", str(community.level), *sorted(entity_set))
        assert community.size == len(entity_set)
        if community.parent_id is not None:
            assert community.id in stored[community.parent_id].members
    top = max(c.level for c in stored.values())
    assert all(c.parent_id for c in stored.values() if c.level < top)  # a parent at every level, as before


class _Embedder:
    dim = 4

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), self.dim), dtype=np.float32)


def test_refresh_extends_after_an_ingest_and_rebuilds_past_the_share(graph_store: GraphStore, tmp_path: Path) -> None:
    two_cliques(graph_store)
    settings = load_settings(data_dir=tmp_path, workspace=graph_store.workspace, communities_rebuild_share=10.0)
    assert refresh_communities(settings, graph_store, _Embedder(), new_chunk_ids=[]).mode == "full"  # no state yet
    _, new_chunks = add_document(graph_store)
    extended = refresh_communities(settings, graph_store, _Embedder(), new_chunk_ids=new_chunks)
    assert extended.mode == "extended" and extended.communities == len(graph_store.get_communities())

    add = Document.from_text("more", source="/t/more.txt", title="more")
    graph_store.upsert_documents([add])
    graph_store.upsert_chunks([Chunk.from_span(add, 0, 0, 4, "test")])
    settings = settings.model_copy(update={"communities_rebuild_share": 0.0})
    rebuilt = refresh_communities(settings, graph_store, _Embedder(), new_chunk_ids=[f"{add.id}-unknown"])
    assert rebuilt.mode == "full"  # past the share (and the chunk count does not add up either)
    stored = {c.id: c for c in graph_store.get_communities()}
    assert stored == {c.id: c for c in rebuild_communities(graph_store)}  # the same as a full rebuild
