"""Entity resolution against a real workspace (both stores): incremental merge, homonyms, delete/refresh."""

from __future__ import annotations

from graph.fusion.resolver import EntityResolver, refresh_entities
from graph.models import EntityMention, Extraction, RelationMention
from graph.store.base import GraphStore
from ingest.models import Chunk, Document, PageSpan


def write_doc(store: GraphStore, name: str, texts: list[str]) -> list[Chunk]:
    text = "\n".join(texts)
    document = Document.from_text(
        text, source=f"/t/{name}.txt", title=name, pages=[PageSpan(page=1, start=0, end=len(text))]
    )
    chunks, start = [], 0
    for index, part in enumerate(texts):
        chunks.append(Chunk.from_span(document, index, start, start + len(part), "test"))
        start += len(part) + 1
    store.upsert_documents([document])
    store.upsert_chunks(chunks)
    return chunks


def extraction(
    chunk: Chunk, entities: list[tuple[str, str, str]], relations: list[tuple[str, str, str]] = ()
) -> Extraction:  # type: ignore[assignment]
    return Extraction(
        chunk_id=chunk.id,
        entities=[
            EntityMention(name=n, type=t, description=d, chunk_id=chunk.id, doc_id=chunk.doc_id) for n, t, d in entities
        ],
        relations=[
            RelationMention(source=s, target=o, type=r, chunk_id=chunk.id, doc_id=chunk.doc_id) for s, r, o in relations
        ],
    )


def test_new_mentions_merge_into_stored_entities_across_batches(graph_store: GraphStore) -> None:
    resolver = EntityResolver(graph_store)
    first = write_doc(graph_store, "a", ["IBM was founded in New York.", "Mercury is a planet."])
    result = resolver.resolve(
        [
            extraction(
                first[0],
                [
                    ("International Business Machines", "ORG", "American technology company"),
                    ("New York", "GPE", "US city"),
                ],
                [("International Business Machines", "FOUNDED_IN", "New York")],
            ),
            extraction(first[1], [("Mercury", "PLANET", "The smallest planet of the Solar System")]),
        ]
    )
    resolver.write(result)
    ibm = next(e for e in result.entities if e.name == "International Business Machines")

    second = write_doc(graph_store, "b", ["I.B.M. hired people.", "Mercury is toxic.", "The IBM story."])
    again = resolver.resolve(
        [
            extraction(second[0], [("IBM", "ORGANIZATION", "computer maker"), ("new york", "GPE", "")]),
            extraction(second[1], [("Mercury", "CHEMICAL_ELEMENT", "A toxic metal, liquid at room temperature")]),
            extraction(second[2], [("the International Business Machines", "ORG", "")]),
        ]
    )
    resolver.write(again)
    ids = {m.name: m.entity_id for m in again.mentions}
    assert ids["IBM"] == ids["the International Business Machines"] == ibm.id
    assert ids["new york"] in {e.id for e in result.entities}
    planet = next(e.id for e in result.entities if e.name.startswith("Mercury"))
    assert ids["Mercury"] != planet
    element = graph_store.get_entities([ids["Mercury"]])[0]
    assert element.name == "Mercury (chemical element)"
    stored_ibm = graph_store.get_entities([ibm.id])[0]
    assert {"IBM", "International Business Machines"} <= set(stored_ibm.aliases)
    assert again.entities_existing >= 2

    # Writing the same result twice changes nothing.
    before = graph_store.stats()
    resolver.write(again)
    assert graph_store.stats() == before


def test_contradicting_relations_are_flagged_in_the_store(graph_store: GraphStore) -> None:
    chunks = write_doc(graph_store, "c", ["A supports B.", "A opposes B."])
    resolver = EntityResolver(graph_store)
    result = resolver.resolve(
        [
            extraction(
                chunks[0],
                [("Alpha Party", "ORG", ""), ("Beta Law", "LAW", "")],
                [("Alpha Party", "SUPPORTS", "Beta Law")],
            ),
            extraction(
                chunks[1],
                [("Alpha Party", "ORG", ""), ("Beta Law", "LAW", "")],
                [("Alpha Party", "OPPOSES", "Beta Law")],
            ),
        ]
    )
    resolver.write(result)
    assert len(result.conflicting_relation_ids) == 2
    relations = graph_store.relations_of([result.relations[0].source_id])
    assert relations and all(r.conflict for r in relations)


def test_delete_then_refresh_recomputes_the_fused_description(graph_store: GraphStore) -> None:
    resolver = EntityResolver(graph_store)
    rich = "Paris is the capital and most populous city of France, on the river Seine."
    doc_a = write_doc(graph_store, "pa", ["Paris text a."])
    doc_b = write_doc(graph_store, "pb", ["Paris text b."])
    resolver.write(resolver.resolve([extraction(doc_a[0], [("Paris", "GPE", rich)])]))
    resolver.write(resolver.resolve([extraction(doc_b[0], [("Paris", "GPE", "A city.")])]))
    paris = graph_store.find_entities(["Paris"])[0]
    assert paris.description == rich

    report = graph_store.delete_document(doc_a[0].doc_id)
    assert paris.id in report.affected_entity_ids
    refresh_entities(graph_store, report.affected_entity_ids)
    refreshed = graph_store.get_entities([paris.id])[0]
    assert refreshed.description == "A city."
    assert list(refreshed.descriptions_by_source) == [doc_b[0].id]
