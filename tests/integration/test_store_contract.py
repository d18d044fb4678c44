"""One contract suite, run against both graph stores (embedded SQLite and a real Neo4j).

The corpus: document A (chunks a0 a1 a2) and document B (chunks b0 b1). Paris is mentioned in
a0, a1 and b0; France only in a0; Marie Curie in a1 and b0. Paris LOCATED_IN France rests on a0;
Curie LIVED_IN Paris rests on a1 and b0. Deleting A must take France and its relation with it,
keep Paris and Curie with B's evidence, and drop LIVED_IN's weight from 2 to 1.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

from app.errors import GraphStoreError, StoreUnavailableError, UnknownComponentError
from graph.models import Community, EntityRecord, MentionRecord, RelationRecord
from graph.store.base import GraphStore
from graph.store.registry import open_store
from ingest.models import Chunk, Document, PageSpan
from tests.conftest import EMBEDDING_DIM, StoreFactory

PARIS, FRANCE, CURIE = "ent-paris", "ent-france", "ent-curie"


def unit(*weights: float) -> list[float]:
    vector = np.zeros(EMBEDDING_DIM, dtype=np.float64)
    vector[: len(weights)] = weights
    return (vector / np.linalg.norm(vector)).tolist()


def doc(name: str, text: str) -> Document:
    return Document.from_text(
        text,
        source=f"/corpus/{name}.txt",
        title=name.title(),
        pages=[PageSpan(page=1, start=0, end=len(text))],
    )


DOC_A = doc("alpha", "Paris is in France. Marie Curie lived in the City of Light. The end.")
DOC_B = doc("beta", "Madame Curie worked in Paris. Another sentence.")


def chunks_of(document: Document, bounds: list[tuple[int, int]]) -> list[Chunk]:
    return [Chunk.from_span(document, i, start, end, "fixed") for i, (start, end) in enumerate(bounds)]


CHUNKS_A = chunks_of(DOC_A, [(0, 19), (20, 59), (60, 68)])
CHUNKS_B = chunks_of(DOC_B, [(0, 29), (30, 47)])
A0, A1, A2 = (c.id for c in CHUNKS_A)
B0, B1 = (c.id for c in CHUNKS_B)

ENTITIES = [
    EntityRecord(id=PARIS, name="Paris", type="LOCATION", description="capital", embedding=unit(1, 0, 0)),
    EntityRecord(id=FRANCE, name="France", type="LOCATION", description="country", embedding=unit(0, 1, 0)),
    EntityRecord(id=CURIE, name="Marie Curie", type="PERSON", description="physicist", embedding=unit(0, 0, 1)),
]
MENTIONS = [
    MentionRecord(chunk_id=A0, entity_id=PARIS, name="Paris", description="a city in France"),
    MentionRecord(chunk_id=A0, entity_id=FRANCE, name="France"),
    MentionRecord(chunk_id=A1, entity_id=CURIE, name="Marie Curie", description="lived in Paris"),
    MentionRecord(chunk_id=A1, entity_id=PARIS, name="City of Light"),
    MentionRecord(chunk_id=B0, entity_id=CURIE, name="Madame Curie", description="worked in Paris"),
    MentionRecord(chunk_id=B0, entity_id=PARIS, name="Paris"),
]
LOCATED_IN = RelationRecord(source_id=PARIS, target_id=FRANCE, type="LOCATED_IN", chunk_id=A0, description="in")
LIVED_A = RelationRecord(source_id=CURIE, target_id=PARIS, type="LIVED_IN", chunk_id=A1, description="lived")
LIVED_B = RelationRecord(source_id=CURIE, target_id=PARIS, type="LIVED_IN", chunk_id=B0, description="worked there")


def load(store: GraphStore) -> None:
    store.upsert_documents([DOC_A, DOC_B])
    store.upsert_chunks(CHUNKS_A)
    store.upsert_chunks(CHUNKS_B)
    store.upsert_entities(ENTITIES)
    store.upsert_mentions(MENTIONS)
    store.upsert_relations([LOCATED_IN, LIVED_A, LIVED_B])


@pytest.fixture
def loaded(graph_store: GraphStore) -> GraphStore:
    load(graph_store)
    return graph_store


def entity(store: GraphStore, entity_id: str):  # noqa: ANN201 - the Entity model
    (found,) = store.get_entities([entity_id])
    return found


def test_upserts_are_idempotent(loaded: GraphStore) -> None:
    before = (loaded.stats(), loaded.get_entities([PARIS, CURIE]), loaded.relations_of([PARIS]))
    load(loaded)
    assert (loaded.stats(), loaded.get_entities([PARIS, CURIE]), loaded.relations_of([PARIS])) == before
    assert loaded.stats().model_dump() == {
        "documents": 2,
        "chunks": 5,
        "entities": 3,
        "relations": 2,
        "mentions": 6,
        "communities": 0,
    }


def test_documents_round_trip_and_list_without_text(loaded: GraphStore) -> None:
    assert loaded.get_document(DOC_A.id) == DOC_A
    assert loaded.find_document_by_source(DOC_B.source) == DOC_B
    assert loaded.get_document("doc-missing") is None and loaded.find_document_by_source("/nope") is None
    listed = loaded.list_documents()
    assert [d.id for d in listed] == [DOC_A.id, DOC_B.id] and all(d.text == "" for d in listed)


def test_chunks_keep_order_and_are_linked_by_next(loaded: GraphStore) -> None:
    assert loaded.chunks_of_document(DOC_A.id) == CHUNKS_A
    assert [c.id for c in loaded.get_chunks([B1, "chk-unknown", A0])] == [B1, A0]
    assert loaded.get_chunks([A1])[0].page == 1
    assert loaded.next_links(DOC_A.id) == [(A0, A1), (A1, A2)]  # type: ignore[attr-defined]
    assert sorted(c.id for c in loaded.iter_chunks(batch_size=2)) == sorted([A0, A1, A2, B0, B1])


def test_reads_follow_what_another_connection_wrote(graph_store_factory: StoreFactory) -> None:
    """Two processes on one workspace (a server and a CLI ingest): a connection that has read (and cached)
    the entity vectors and mention pairs still sees the entities and mentions another one writes after."""
    first = graph_store_factory()
    load(first)
    newton = EntityRecord(id="ent-newton", name="Isaac Newton", type="PERSON", embedding=unit(0, 0, 0, 1))
    assert first.vector_search_entities(unit(0, 0, 0, 1), 1)[0].entity.id != newton.id
    assert first.entities_of_chunks([B1]) == {}
    second = graph_store_factory(first.workspace)
    second.upsert_entities([newton])
    second.upsert_mentions([MentionRecord(chunk_id=B1, entity_id=newton.id, name="Newton")])
    assert first.vector_search_entities(unit(0, 0, 0, 1), 1)[0].entity.id == newton.id
    assert first.entities_of_chunks([B1]) == {B1: [newton.id]}


def test_next_links_join_chunks_written_separately(graph_store: GraphStore) -> None:
    graph_store.upsert_documents([DOC_A])
    for chunk in reversed(CHUNKS_A):
        graph_store.upsert_chunks([chunk])
    assert graph_store.next_links(DOC_A.id) == [(A0, A1), (A1, A2)]  # type: ignore[attr-defined]
    graph_store.upsert_chunks(CHUNKS_A)
    assert graph_store.next_links(DOC_A.id) == [(A0, A1), (A1, A2)]  # type: ignore[attr-defined]


def test_mentions_give_aliases_and_descriptions_by_source(loaded: GraphStore) -> None:
    paris = entity(loaded, PARIS)
    assert paris.name == "Paris" and paris.description == "capital" and paris.type == "LOCATION"
    assert paris.aliases == ["City of Light", "Paris"]
    assert paris.descriptions_by_source == {A0: "a city in France"}
    assert paris.mention_count == 3
    assert entity(loaded, CURIE).descriptions_by_source == {A1: "lived in Paris", B0: "worked in Paris"}
    assert loaded.entities_of_chunks([A0, B1]) == {A0: sorted([PARIS, FRANCE])}
    assert sorted(e.id for e in loaded.iter_entities(batch_size=2)) == sorted([PARIS, FRANCE, CURIE])


def test_mention_reads_follow_mentions_written_and_deleted_after_a_read(loaded: GraphStore) -> None:
    assert loaded.entities_of_chunks([B0, A1, B1, "missing"]) == {
        A1: sorted([CURIE, PARIS]),
        B0: sorted([CURIE, PARIS]),
    }
    assert sorted(loaded.subgraph([FRANCE], hops=1).mentions) == sorted(
        [(A0, FRANCE), (A0, PARIS), (A1, PARIS), (B0, PARIS)]
    )
    assert CURIE not in loaded.subgraph([FRANCE], hops=1).entity_ids
    loaded.upsert_mentions([MentionRecord(chunk_id=B1, entity_id=FRANCE, name="France")])
    loaded.upsert_mentions([MentionRecord(chunk_id=B0, entity_id=FRANCE, name="la France")])
    assert loaded.entities_of_chunks([B0, B1]) == {B0: sorted([CURIE, FRANCE, PARIS]), B1: [FRANCE]}
    one_hop = loaded.subgraph([FRANCE], hops=1)
    assert (B1, FRANCE) in one_hop.mentions
    assert CURIE in one_hop.entity_ids  # a neighbour now: it shares chunk b0 with France
    loaded.delete_document(DOC_A.id)  # France stays: chunks of B still mention it
    assert loaded.entities_of_chunks([A0, A1, B0, B1]) == {B0: sorted([CURIE, FRANCE, PARIS]), B1: [FRANCE]}
    assert not {chunk for chunk, _ in loaded.subgraph([FRANCE], hops=1).mentions} & {A0, A1, A2}
    loaded.delete_document(DOC_B.id)
    assert loaded.entities_of_chunks([B0, B1]) == {}


def test_upsert_entity_overwrites_fields_but_not_mentions(loaded: GraphStore) -> None:
    loaded.upsert_entities([EntityRecord(id=PARIS, name="Paris, France", type="CITY", description="new")])
    paris = entity(loaded, PARIS)
    assert (paris.name, paris.type, paris.description) == ("Paris, France", "CITY", "new")
    assert paris.aliases == ["City of Light", "Paris"]
    # No embedding given: the stored one is kept.
    assert loaded.vector_search_entities(unit(1, 0, 0), 1)[0].entity.id == PARIS


def test_relation_evidence_merges_and_weight_counts_chunks(loaded: GraphStore) -> None:
    loaded.upsert_relations([LIVED_B.model_copy(update={"description": "worked there for years"})])
    (lived,) = [r for r in loaded.relations_of([CURIE]) if r.type == "LIVED_IN"]
    assert lived.id == LIVED_A.id and (lived.source_id, lived.target_id) == (CURIE, PARIS)
    assert lived.weight == 2.0
    assert dict(zip(lived.evidence, lived.descriptions, strict=True)) == {
        A1: "lived",
        B0: "worked there for years",
    }
    assert lived.description == "worked there for years" and lived.conflict is False
    loaded.set_relation_conflicts([lived.id], True)
    assert [r.conflict for r in loaded.relations_of([CURIE])] == [True]
    assert [r.id for r in loaded.relations_of([FRANCE])] == [LOCATED_IN.id]


def test_relations_between_keep_only_relations_with_both_ends_in_the_set(loaded: GraphStore) -> None:
    lived, located = LIVED_A.id, LOCATED_IN.id
    assert [r.id for r in loaded.relations_between([CURIE, PARIS, FRANCE])] == sorted([lived, located])
    (between,) = loaded.relations_between([PARIS, CURIE])
    assert (between.id, between.source_id, between.target_id, between.weight) == (lived, CURIE, PARIS, 2.0)
    assert dict(zip(between.evidence, between.descriptions, strict=True)) == {A1: "lived", B0: "worked there"}
    assert loaded.relations_between([PARIS]) == []  # its relations lead out of the set
    assert loaded.relations_between([]) == []


def test_find_entities_by_name_or_alias_ignoring_case(loaded: GraphStore) -> None:
    assert [e.id for e in loaded.find_entities(["city of LIGHT"])] == [PARIS]
    assert sorted(e.id for e in loaded.find_entities(["FRANCE", "madame curie", "nobody"])) == sorted([FRANCE, CURIE])
    assert loaded.find_entities([]) == []


def test_entity_names_are_read_without_mentions_in_the_order_asked(loaded: GraphStore) -> None:
    names = loaded.entity_names([CURIE, "nobody", PARIS])
    assert [(e.id, e.name, e.type) for e in names] == [(CURIE, "Marie Curie", "PERSON"), (PARIS, "Paris", "LOCATION")]
    assert loaded.entity_names([]) == []


def test_find_entity_names_says_which_asked_names_matched(loaded: GraphStore) -> None:
    found = loaded.find_entity_names(["PARIS", "city of light", "Madame Curie", "nobody"])
    assert [(m.entity.id, m.entity.name, sorted(m.matched)) for m in found] == sorted(
        [(PARIS, "Paris", ["city of light", "paris"]), (CURIE, "Marie Curie", ["madame curie"])]
    )
    asked = ["PARIS", "city of light", "Madame Curie"]
    assert {m.entity.id for m in found} == {e.id for e in loaded.find_entities(asked)}
    assert loaded.find_entity_names([]) == []


def test_nearest_entities_give_the_ids_and_scores_of_the_vector_search(loaded: GraphStore) -> None:
    nearest = loaded.nearest_entities(unit(0.2, 0, 1), 2)
    hits = loaded.vector_search_entities(unit(0.2, 0, 1), 2)
    assert [i for i, _ in nearest] == [CURIE, PARIS]
    assert [s for _, s in nearest] == pytest.approx([h.score for h in hits], abs=1e-6)
    assert loaded.nearest_entities(unit(1), 0) == []


def test_entity_vector_search_orders_by_cosine(loaded: GraphStore) -> None:
    entities = loaded.vector_search_entities(unit(0.2, 0, 1), 2)
    assert [h.entity.id for h in entities] == [CURIE, PARIS]
    assert entities[0].score == pytest.approx(0.98, abs=1e-2) and entities[0].score > entities[1].score
    assert entities[0].entity.aliases == ["Madame Curie", "Marie Curie"]
    with pytest.raises(GraphStoreError, match="dimensions"):
        loaded.vector_search_entities([1.0, 0.0], 3)


def test_batched_entity_vector_search_answers_each_query_as_the_single_search_does(loaded: GraphStore) -> None:
    queries = [unit(0.2, 0, 1), unit(0, 1, 0), unit(1, 0, 0)]
    batched = loaded.vector_search_entities_batch(queries, 2)
    assert [[h.entity.id for h in hits] for hits in batched] == [[CURIE, PARIS], [FRANCE, CURIE], [PARIS, CURIE]]
    for query, hits in zip(queries, batched, strict=True):
        assert hits == loaded.vector_search_entities(query, 2)
    assert batched[2][0].score == pytest.approx(1.0, abs=1e-3) and batched[0][0].entity.aliases == [
        "Madame Curie",
        "Marie Curie",
    ]
    assert loaded.vector_search_entities_batch([], 3) == []
    assert loaded.vector_search_entities_batch([unit(1)], 0) == [[]]
    with pytest.raises(GraphStoreError, match="dimensions"):
        loaded.vector_search_entities_batch([unit(1), [1.0, 0.0]], 3)


def test_entity_vector_search_breaks_ties_by_id_past_another_workspace_s_nearer_entities(
    graph_store_factory: StoreFactory,
) -> None:
    """Neo4j's vector index is shared by all workspaces: 80 entities of another one, all nearer to the second
    query than any of ours, fill the index's first answer, and the search must look further for ours."""
    ours, other = graph_store_factory(), graph_store_factory()
    other.upsert_entities(
        [
            EntityRecord(id=f"ent-near-{i:03d}", name=f"Near {i}", type="CONCEPT", embedding=unit(1, 0.001 * i))
            for i in range(80)
        ]
    )
    twins = [
        EntityRecord(id=i, name=i.upper(), type="CONCEPT", description="twin", embedding=unit(1, 0.5))
        for i in ("ent-b", "ent-c", "ent-a")
    ]
    ours.upsert_entities([*twins, EntityRecord(id="ent-far", name="Far", type="CONCEPT", embedding=unit(0, 0, 1))])
    tied, crowded = ours.vector_search_entities_batch([unit(1, 0.5), unit(1, 0)], 2)
    assert [h.entity.id for h in tied] == ["ent-a", "ent-b"]  # three at the same score: the smallest ids
    assert [h.entity.id for h in crowded] == ["ent-a", "ent-b"]  # none of the other workspace's
    # Neo4j's index scores came out up to ~2e-3 off the exact cosine (0.8960 for 0.8944): ids exactly, scores loosely.
    assert tied[0].score == pytest.approx(1.0, abs=5e-3) and crowded[0].score == pytest.approx(0.894, abs=5e-3)


def test_entity_vector_search_sees_upserts_and_deletes_at_once(loaded: GraphStore) -> None:
    assert loaded.vector_search_entities(unit(0, 0, 0, 1), 1)[0].entity.id != "ent-new"  # search warms any cache
    new = EntityRecord(
        id="ent-new", name="Radium", type="CONCEPT", description="an element", embedding=unit(0, 0, 0, 1)
    )
    loaded.upsert_entities([new])
    assert [h.entity.id for h in loaded.vector_search_entities_batch([unit(0, 0, 0, 1)], 1)[0]] == ["ent-new"]
    moved = ENTITIES[1].model_copy(update={"embedding": unit(0, 0, 0, 0, 1)})  # France gets a new vector
    loaded.upsert_entities([moved, ENTITIES[0].model_copy(update={"embedding": None})])  # Paris keeps its own
    assert [h.entity.id for h in loaded.vector_search_entities(unit(0, 0, 0, 0, 1), 1)] == [FRANCE]
    assert [h.entity.id for h in loaded.vector_search_entities(unit(1, 0, 0), 1)] == [PARIS]
    loaded.delete_document(DOC_A.id)  # France loses its only mention and goes
    assert FRANCE not in [h.entity.id for h in loaded.vector_search_entities(unit(0, 0, 0, 0, 1), 5)]


def test_documents_are_read_in_batches_without_text(loaded: GraphStore) -> None:
    found = loaded.get_documents([DOC_B.id, "doc-missing", DOC_A.id, DOC_B.id])
    assert [d.id for d in found] == [DOC_B.id, DOC_A.id]
    assert found[0] == DOC_B.model_copy(update={"text": ""}) and found[1].hash == DOC_A.hash
    by_source = loaded.find_documents_by_source([DOC_B.source, "/nope", DOC_A.source])
    assert [(d.source, d.id) for d in by_source] == sorted([(DOC_A.source, DOC_A.id), (DOC_B.source, DOC_B.id)])
    assert all(d.text == "" for d in by_source)
    assert loaded.get_documents([]) == [] and loaded.find_documents_by_source([]) == []


def test_titles_of_chunks_name_each_chunks_document_and_follow_deletes(loaded: GraphStore) -> None:
    assert loaded.titles_of_chunks([A1, B0, "missing"]) == {
        A1: (DOC_A.id, "Alpha"),
        B0: (DOC_B.id, "Beta"),
    }
    loaded.delete_document(DOC_A.id)
    assert loaded.titles_of_chunks([A0, A1, B1]) == {B1: (DOC_B.id, "Beta")}


def test_subgraph_reaches_neighbours_within_hops(loaded: GraphStore) -> None:
    one_hop = loaded.subgraph([FRANCE], hops=1)
    assert sorted(one_hop.entity_ids) == sorted([FRANCE, PARIS])  # PARIS via a0 and LOCATED_IN
    two_hops = loaded.subgraph([FRANCE], hops=2)
    assert sorted(two_hops.entity_ids) == sorted([FRANCE, PARIS, CURIE])
    assert two_hops.entity_ids[0] == FRANCE
    assert sorted(two_hops.chunk_ids) == sorted([A0, A1, B0])
    assert (A1, CURIE) in two_hops.mentions and (B0, PARIS) in two_hops.mentions
    assert sorted(two_hops.relations) == [(CURIE, PARIS, 2.0), (PARIS, FRANCE, 1.0)]
    assert loaded.subgraph([FRANCE], hops=2, limit=2).entity_ids == [FRANCE, PARIS]
    assert loaded.subgraph(["ent-unknown"]).entity_ids == []


def test_delete_document_removes_orphans_and_keeps_shared_entities(loaded: GraphStore) -> None:
    report = loaded.delete_document(DOC_A.id)
    assert report.found and report.chunks == 3 and report.mentions == 4
    assert report.entities_removed == 1 and report.relations_removed == 1
    assert report.affected_entity_ids == sorted([CURIE, PARIS])
    assert loaded.get_document(DOC_A.id) is None and loaded.get_chunks([A0, A1, A2]) == []
    assert loaded.get_entities([FRANCE]) == [] and loaded.find_entities(["France"]) == []
    paris = entity(loaded, PARIS)
    assert paris.aliases == ["Paris"] and paris.descriptions_by_source == {} and paris.mention_count == 1
    (lived,) = loaded.relations_of([CURIE])
    assert lived.weight == 1.0 and lived.evidence == [B0] and lived.descriptions == ["worked there"]
    assert sorted(c.id for c in loaded.iter_chunks()) == sorted([B0, B1])
    # France is gone; the two survivors tie at cosine 0 and come back in id order.
    assert [h.entity.id for h in loaded.vector_search_entities(unit(0, 1, 0), 5)] == [CURIE, PARIS]
    assert loaded.stats().model_dump() == {
        "documents": 1,
        "chunks": 2,
        "entities": 2,
        "relations": 1,
        "mentions": 2,
        "communities": 0,
    }
    assert loaded.delete_document(DOC_A.id).found is False


def test_entities_left_without_mentions_are_removed_with_their_relations(loaded: GraphStore) -> None:
    # What a write interrupted between its entity and mention transactions leaves behind.
    lonely = "ent-lonely"
    loaded.upsert_entities([EntityRecord(id=lonely, name="Lyon", type="LOCATION", embedding=unit(1, 1, 0))])
    loaded.upsert_relations([RelationRecord(source_id=lonely, target_id=PARIS, type="NEAR", chunk_id=B1)])
    before = loaded.stats().model_dump()
    assert loaded.delete_unmentioned_entities() == 1
    assert loaded.get_entities([lonely]) == [] and loaded.find_entities(["Lyon"]) == []
    assert all(lonely not in (r.source_id, r.target_id) for r in loaded.relations_of([PARIS]))
    assert lonely not in [h.entity.id for h in loaded.vector_search_entities(unit(1, 1, 0), 5)]
    after = loaded.stats().model_dump()
    assert after == {**before, "entities": before["entities"] - 1, "relations": before["relations"] - 1}
    assert loaded.delete_unmentioned_entities() == 0  # every entity left is mentioned


def test_delete_unknown_document_changes_nothing(loaded: GraphStore) -> None:
    before = loaded.stats()
    assert loaded.delete_document("doc-unknown").model_dump() == {
        "doc_id": "doc-unknown",
        "found": False,
        "chunks": 0,
        "mentions": 0,
        "entities_removed": 0,
        "relations_removed": 0,
        "affected_entity_ids": [],
    }
    assert loaded.stats() == before


def test_workspaces_are_isolated(graph_store_factory, loaded: GraphStore) -> None:  # noqa: ANN001
    other = graph_store_factory()
    assert other.stats().model_dump() == {k: 0 for k in loaded.stats().model_dump()}
    assert other.get_document(DOC_A.id) is None and other.find_entities(["Paris"]) == []
    assert list(other.iter_chunks()) == [] and other.vector_search_entities(unit(1), 3) == []
    assert other.vector_search_entities_batch([unit(1), unit(0, 1)], 3) == [[], []]
    assert other.get_documents([DOC_A.id]) == [] and other.find_documents_by_source([DOC_A.source]) == []
    other.upsert_documents([DOC_A])
    other.upsert_chunks(CHUNKS_A[:1])
    other.upsert_entities(ENTITIES[:1])
    other.upsert_mentions(MENTIONS[:1])
    assert other.delete_document(DOC_A.id).entities_removed == 1
    assert entity(loaded, PARIS).mention_count == 3 and loaded.stats().chunks == 5
    other.upsert_documents([DOC_B])
    other.clear()
    assert loaded.stats().documents == 2 and loaded.get_chunks([A0]) == [CHUNKS_A[0]]


def test_clear_empties_the_workspace(loaded: GraphStore) -> None:
    loaded.replace_communities([Community(id="com-1", level=0, members=[PARIS])])
    loaded.clear()
    assert loaded.stats().model_dump() == {k: 0 for k in loaded.stats().model_dump()}
    assert list(loaded.iter_chunks()) == [] and loaded.get_communities() == []
    load(loaded)
    assert loaded.stats().entities == 3


def test_communities_replace_get_and_go_stale(loaded: GraphStore) -> None:
    leaves = [
        Community(
            id="com-places",
            level=0,
            title="Places",
            summary="s",
            members=[PARIS, FRANCE],
            parent_id="com-top",
            size=2,
            chunk_count=2,
            chunk_ids=[A0, B0],  # central chunks keep their order (best first)
            entity_names=["Paris", "France"],
        ),
        Community(id="com-people", level=0, title="People", members=[CURIE], parent_id="com-top"),
    ]
    top = Community(id="com-top", level=1, title="All", members=["com-people", "com-places"])
    loaded.upsert_communities([Community(id="com-old", level=0, members=[PARIS])])
    loaded.replace_communities([top, *leaves])
    assert [c.id for c in loaded.get_communities()] == ["com-people", "com-places", "com-top"]
    assert loaded.get_communities(level=1) == [top]
    (places,) = [c for c in loaded.get_communities(level=0) if c.id == "com-places"]
    assert places == leaves[0].model_copy(update={"members": sorted([PARIS, FRANCE])})
    assert loaded.stats().communities == 3
    loaded.replace_communities(leaves[1:])
    assert [c.id for c in loaded.get_communities()] == ["com-people"]
    loaded.replace_communities([top, *leaves])
    loaded.delete_document(DOC_B.id)  # Curie and Paris lose evidence; France is untouched
    stale = {c.id: c.stale for c in loaded.get_communities()}
    assert stale == {"com-people": True, "com-places": True, "com-top": True}
    loaded.delete_document(DOC_A.id)
    assert {c.id: c.members for c in loaded.get_communities(level=0)} == {"com-people": [], "com-places": []}


def test_communities_update_drops_some_and_writes_others(loaded: GraphStore) -> None:
    places = Community(id="com-places", level=0, members=[PARIS], parent_id="com-top")
    people = Community(id="com-people", level=0, members=[CURIE], parent_id="com-top")
    loaded.replace_communities([Community(id="com-top", level=1, members=["com-people", "com-places"]), places, people])
    grown = Community(id="com-places2", level=0, members=[FRANCE, PARIS], parent_id="com-top2")
    top = Community(id="com-top2", level=1, summary="kept", members=["com-people", "com-places2"])
    loaded.update_communities(
        [top, grown, people.model_copy(update={"parent_id": "com-top2"})], ["com-places", "com-top"]
    )
    stored = {c.id: c for c in loaded.get_communities()}
    assert stored == {
        "com-people": people.model_copy(update={"parent_id": "com-top2"}),
        "com-places2": grown,
        "com-top2": top,
    }
    loaded.update_communities([], ["com-people"])
    assert sorted(c.id for c in loaded.get_communities()) == ["com-places2", "com-top2"]
    assert loaded.get_communities(level=1)[0].members == ["com-places2"]


def test_bad_input_is_rejected_and_nothing_half_written(loaded: GraphStore) -> None:
    before = loaded.stats()
    with pytest.raises(GraphStoreError, match="unsafe type"):
        loaded.upsert_relations([LIVED_A, LIVED_A.model_copy(update={"type": "lived in'}) DETACH DELETE n //"})])
    with pytest.raises(GraphStoreError, match="unsafe type"):
        loaded.upsert_entities([ENTITIES[0].model_copy(update={"type": "Person"})])
    with pytest.raises(GraphStoreError, match="dimensions"):
        loaded.upsert_entities([ENTITIES[0].model_copy(update={"embedding": [1.0, 2.0]})])
    with pytest.raises(GraphStoreError, match="unknown entity"):
        loaded.upsert_mentions([MentionRecord(chunk_id=A0, entity_id="ent-ghost", name="Ghost")])
    with pytest.raises(GraphStoreError, match="unknown document"):
        loaded.upsert_chunks(chunks_of(doc("gamma", "text"), [(0, 4)]))
    # Values too large for an index (Neo4j would refuse them mid-transaction) are refused up front, alike.
    oversized = doc("x", "more text").model_copy(update={"source": "/corpus/" + "x" * 10_000})  # skips validation
    with pytest.raises(GraphStoreError, match=r"source too long \(10008 characters; at most 1024\)"):
        loaded.upsert_documents([doc("gamma", "text"), oversized])
    with pytest.raises(GraphStoreError, match=r"entity .ent-paris. name too long"):
        loaded.upsert_entities([ENTITIES[0].model_copy(update={"name": "Paris " * 1000})])
    with pytest.raises(GraphStoreError, match=r"mention name .* too long"):
        loaded.upsert_mentions([MentionRecord(chunk_id=A0, entity_id=PARIS, name="Paris " * 1000)])
    assert loaded.get_documents([doc("gamma", "text").id]) == []
    assert loaded.stats() == before and [r.weight for r in loaded.relations_of([CURIE])] == [2.0]


def test_unknown_backend_is_named() -> None:
    with pytest.raises(UnknownComponentError, match="unknown graph store 'mongo'; known: embedded, neo4j"):
        open_store("mongo")


def test_unreachable_neo4j_says_how_to_start_it() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"bolt://127.0.0.1:{port}"
    with pytest.raises(StoreUnavailableError) as caught:
        open_store("neo4j", uri=uri, user="neo4j", password="x", database="neo4j", workspace="w", embedding_dim=4)
    message = str(caught.value)
    assert uri in message and "start it with: amalgam neo4j start" in message and "\n" not in message


def test_embedded_top_k_keeps_every_tie_at_the_cut_and_orders_by_id() -> None:
    from graph.store.embedded import top_k

    scores = np.array([0.5, 0.9, 0.5, 0.5 + 1e-9, 0.1, 0.9], dtype=np.float32)
    ids = ["e", "d", "c", "b", "a", "f"]
    # 0.9 twice (d before f), then the three 0.5s (equal to 1e-6) in id order: b, c, e.
    assert [ids[i] for i in top_k(scores, ids, 4)] == ["d", "f", "b", "c"]
    assert [ids[i] for i in top_k(scores, ids, 10)] == ["d", "f", "b", "c", "e", "a"]
    assert top_k(scores, ids, 1) == [1]


def test_one_chunk_may_name_an_entity_twice_and_an_alias_finds_every_homonym(loaded: GraphStore) -> None:
    # Name coreference writes a full name and its short form from one chunk ("Curie" beside
    # "Marie Curie"); a second Curie in another document shares the short form.
    pierre = EntityRecord(id="ent-pierre", name="Pierre Curie", type="PERSON", description="physicist, her husband")
    loaded.upsert_entities([pierre])
    both = [
        MentionRecord(chunk_id=A1, entity_id=CURIE, name="Curie", description="lived in Paris"),
        MentionRecord(chunk_id=B1, entity_id="ent-pierre", name="Pierre Curie"),
        MentionRecord(chunk_id=B1, entity_id="ent-pierre", name="Curie"),
    ]
    loaded.upsert_mentions(both)
    loaded.upsert_mentions(both)  # idempotent
    marie = entity(loaded, CURIE)
    assert marie.aliases == ["Curie", "Madame Curie", "Marie Curie"] and marie.mention_count == 2
    assert [e.id for e in loaded.find_entities(["curie"])] == sorted([CURIE, "ent-pierre"])
    assert [e.id for e in loaded.find_entities(["Pierre Curie"])] == ["ent-pierre"]


def test_an_oversized_indexed_value_is_refused_alike_and_nothing_written(loaded: GraphStore) -> None:
    # Neo4j cannot index a string over ~8 KB ("Property value is too large to index") and used to
    # lose the whole batch while the embedded store accepted it: both now refuse it up front.
    before = loaded.stats()
    huge_name = ENTITIES[1].model_copy(update={"id": "ent-huge", "name": "x" * 10_000})
    with pytest.raises(GraphStoreError, match=r"entity 'ent-huge' name too long \(10000 characters; at most 1024\)"):
        loaded.upsert_entities([ENTITIES[0], huge_name])
    huge_id = ENTITIES[1].model_copy(update={"id": "ent-" + "9" * 10_000})
    with pytest.raises(GraphStoreError, match=r"entity id 'ent-9+\.\.\.' too long \(10004 characters; at most 256\)"):
        loaded.upsert_entities([huge_id])
    assert loaded.stats() == before and loaded.get_entities(["ent-huge"]) == []
    loaded.upsert_entities([huge_name.model_copy(update={"name": "x" * 1024})])  # at the bound: written
    assert [e.name for e in loaded.get_entities(["ent-huge"])] == ["x" * 1024]
