"""Within-document coreference of names (graph/fusion/coref.py): linking, homonyms, types, documents."""

from __future__ import annotations

from graph.fusion.coref import link_names, with_aliases
from graph.models import EntityMention, Extraction, MentionRecord, RelationMention


def chunk(chunk_id: str, doc_id: str, *names: tuple[str, str], relations: tuple[str, str] | None = None) -> Extraction:
    """An extraction of one chunk: ``names`` are (name, type) pairs, ``relations`` one (source, target)."""
    entities = [
        EntityMention(name=n, type=t, description=f"{n} in {chunk_id}", chunk_id=chunk_id, doc_id=doc_id)
        for n, t in names
    ]
    rels = (
        [RelationMention(source=relations[0], target=relations[1], chunk_id=chunk_id, doc_id=doc_id)]
        if relations
        else []
    )
    return Extraction(chunk_id=chunk_id, entities=entities, relations=rels)


def names_of(extractions: list[Extraction]) -> list[list[tuple[str, list[str]]]]:
    return [[(m.name, m.aliases) for m in e.entities] for e in extractions]


JFK = "John Fitzgerald Kennedy"


def test_surname_middle_name_and_initials_link_to_the_full_name() -> None:
    linked = link_names(
        [
            chunk("c1", "bio", (JFK, "PERSON"), ("Brookline", "GPE")),
            chunk("c2", "bio", ("Kennedy", "PERSON"), ("Navy", "ORG")),
            chunk("c3", "bio", ("John Kennedy", "PERSON")),
            chunk("c4", "bio", ("John F. Kennedy", "PERSON")),
            chunk("c5", "bio", ("President Kennedy", "PERSON")),
        ]
    )
    assert names_of(linked) == [
        [(JFK, []), ("Brookline", [])],
        [(JFK, ["Kennedy"]), ("Navy", [])],
        [(JFK, ["John Kennedy"])],
        [(JFK, ["John F. Kennedy"])],
        [(JFK, ["President Kennedy"])],
    ]


def test_a_club_or_company_short_name_links_to_its_full_name() -> None:
    linked = link_names(
        [
            chunk("c1", "club", ("The New York Yankees", "ORG"), ("Bronx", "GPE")),
            chunk("c2", "club", ("Yankees", "ORG"), ("Babe Ruth", "PERSON")),
            chunk("c3", "firm", ("Apple Computer, Inc.", "ORG")),
            chunk("c4", "firm", ("Apple", "ORG")),
        ]
    )
    assert linked[1].entities[0].name == "The New York Yankees"
    assert linked[1].entities[0].aliases == ["Yankees"]
    assert linked[3].entities[0].name == "Apple Computer, Inc."
    assert linked[1].entities[1].name == "Babe Ruth"  # nothing to link


def test_the_middle_of_an_organisation_name_is_not_its_short_name() -> None:
    linked = link_names([chunk("c1", "club", ("New York Yankees", "ORG")), chunk("c2", "club", ("York", "ORG"))])
    assert linked[1].entities[0].name == "York"


def test_a_short_form_of_two_full_names_stays_as_written() -> None:
    extractions = [
        chunk("c1", "family", ("John F. Kennedy", "PERSON")),
        chunk("c2", "family", ("Robert Kennedy", "PERSON")),
        chunk("c3", "family", ("Kennedy", "PERSON")),
        chunk("c4", "family", ("John Kennedy", "PERSON")),
    ]
    linked = link_names(extractions)
    assert linked[2].entities[0].name == "Kennedy" and linked[2].entities[0].aliases == []
    # "John Kennedy" fits only John F. Kennedy, so it still links.
    assert linked[3].entities[0].name == "John F. Kennedy"


def test_nested_full_names_count_as_one() -> None:
    linked = link_names(
        [
            chunk("c1", "bio", ("John Kennedy", "PERSON")),
            chunk("c2", "bio", (JFK, "PERSON")),
            chunk("c3", "bio", ("Kennedy", "PERSON")),
        ]
    )
    assert [e.entities[0].name for e in linked] == [JFK, JFK, JFK]


def test_types_must_match() -> None:
    linked = link_names(
        [
            chunk("c1", "trip", ("Michael Jordan", "PERSON")),
            chunk("c2", "trip", ("Jordan", "GPE")),
            chunk("c3", "firm", ("Ford Motor Company", "ORG"), ("Henry Ford", "PERSON")),
            chunk("c4", "firm", ("Ford", "ORG")),
            chunk("c5", "founder", ("Ford Motor Company", "ORG"), ("Henry Ford", "PERSON")),
            chunk("c6", "founder", ("Ford", "PERSON")),
        ]
    )
    assert linked[1].entities[0].name == "Jordan"
    assert linked[3].entities[0].name == "Ford Motor Company"
    assert linked[5].entities[0].name == "Henry Ford"


def test_a_name_written_as_another_kind_of_thing_in_the_document_is_not_linked() -> None:
    linked = link_names(
        [
            chunk("c1", "trip", ("Michael Jordan", "PERSON")),
            chunk("c2", "trip", ("Jordan", "GPE")),
            chunk("c3", "trip", ("Jordan", "PERSON")),  # the tagger's mistake or the man: cannot tell
        ]
    )
    assert [e.entities[0].name for e in linked] == ["Michael Jordan", "Jordan", "Jordan"]


def test_common_words_and_nationalities_never_link() -> None:
    linked = link_names(
        [
            chunk("c1", "firm", ("Ford Motor Company", "ORG"), ("American Airlines", "ORG")),
            chunk("c2", "firm", ("Company", "ORG"), ("American", "NORP")),
            chunk("c3", "firm", ("American", "ORG")),  # a common word, even as an organisation
        ]
    )
    assert [m.name for m in linked[1].entities] == ["Company", "American"]
    assert linked[2].entities[0].name == "American"


def test_documents_never_link_to_each_other() -> None:
    linked = link_names(
        [
            chunk("c1", "doc-a", ("Mary Smith", "PERSON")),
            chunk("c2", "doc-b", ("Smith", "PERSON")),
            chunk("c3", "doc-c", ("Peter Smith", "PERSON")),
            chunk("c4", "doc-c", ("Smith", "PERSON")),
        ]
    )
    assert linked[1].entities[0].name == "Smith"
    assert linked[3].entities[0].name == "Peter Smith"


def test_a_short_form_beside_its_full_name_merges_and_relations_follow() -> None:
    (linked,) = link_names(
        [chunk("c1", "bio", (JFK, "PERSON"), ("Kennedy", "PERSON"), ("Navy", "ORG"), relations=("Kennedy", "Navy"))]
    )
    assert names_of([linked]) == [[(JFK, ["Kennedy"]), ("Navy", [])]]
    assert (linked.relations[0].source, linked.relations[0].target) == (JFK, "Navy")


def test_extractions_without_short_forms_are_returned_unchanged() -> None:
    extractions = [chunk("c1", "bio", ("Paris", "GPE"), ("Marie Curie", "PERSON"))]
    assert link_names(extractions)[0] is extractions[0]
    assert link_names([]) == []


def test_with_aliases_adds_one_record_per_alias_on_the_resolved_entity() -> None:
    (linked,) = link_names([chunk("c1", "bio", (JFK, "PERSON"), ("Kennedy", "PERSON"), ("John Kennedy", "PERSON"))])
    records = [MentionRecord(chunk_id="c1", entity_id="ent-jfk", name=JFK, description="d")]
    result = with_aliases(records, [linked])
    assert sorted((r.entity_id, r.name) for r in result) == [
        ("ent-jfk", "John Fitzgerald Kennedy"),
        ("ent-jfk", "John Kennedy"),
        ("ent-jfk", "Kennedy"),
    ]
    assert with_aliases(records, [chunk("c1", "bio", (JFK, "PERSON"))]) == records


def test_the_extractor_maps_only_people_to_a_longer_person_name_in_a_chunk() -> None:
    from graph.extraction.spacy import short_name_map

    assert short_name_map({"Michael Jordan": "PERSON", "Jordan": "GPE"}) == {}
    assert short_name_map({"Michael Jordan": "PERSON", "Jordan": ""}) == {}  # written as two kinds
    assert short_name_map({"Michael Jordan": "PERSON", "Jordan": "PERSON"}) == {"Jordan": "Michael Jordan"}


def test_titles_and_generational_suffixes() -> None:
    linked = link_names(
        [
            chunk("c1", "coach", ("Sir Alex Ferguson", "PERSON")),
            chunk("c2", "coach", ("Alex Ferguson", "PERSON"), ("Ferguson", "PERSON")),
            chunk("c3", "ibm", ("Thomas J. Watson", "PERSON"), ("Thomas Watson Jr.", "PERSON")),
            chunk("c4", "ibm", ("Watson", "PERSON")),
            chunk("c5", "mlk", ("Martin Luther King Jr.", "PERSON")),
            chunk("c6", "mlk", ("King", "PERSON")),
        ]
    )
    assert [m.name for m in linked[1].entities] == ["Sir Alex Ferguson"]
    assert [m.name for m in linked[2].entities] == ["Thomas J. Watson", "Thomas Watson Jr."]
    assert linked[3].entities[0].name == "Watson"  # father or son: cannot tell
    assert linked[5].entities[0].name == "Martin Luther King Jr."
