from __future__ import annotations

import pytest

from graph.extraction.spacy import SpacyExtractor
from graph.models import SAFE_TYPE
from ingest.models import Chunk, Document


@pytest.fixture(scope="module")
def extractor() -> SpacyExtractor:
    return SpacyExtractor()


def _chunk(text: str) -> Chunk:
    doc = Document.from_text(text, source="mem", title="t")
    return Chunk.from_span(doc, 0, 0, len(text), "test")


def test_entities_and_relations_carry_chunk_provenance(extractor: SpacyExtractor) -> None:
    chunk = _chunk("Ingrid Solberg was born in Bergen. She designed the Halvorsen Viaduct for Northern Coast Railway.")
    [result] = extractor.extract([chunk])
    names = {e.name for e in result.entities}
    assert {"Ingrid Solberg", "Bergen"} <= names
    assert all(e.chunk_id == chunk.id and e.doc_id == chunk.doc_id for e in result.entities)
    assert any(r.source == "Ingrid Solberg" and r.target == "Bergen" for r in result.relations)
    assert all(SAFE_TYPE.match(r.type) for r in result.relations)
    assert result.status == "ok"


def test_text_without_entities_is_reported_empty_not_ok(extractor: SpacyExtractor) -> None:
    [result] = extractor.extract([_chunk("it is raining and the kettle is on.")])
    assert result.entities == [] and result.status == "empty"


def test_one_extraction_per_chunk_in_order(extractor: SpacyExtractor) -> None:
    chunks = [_chunk("Paris is in France."), _chunk("nothing here"), _chunk("Berlin is in Germany.")]
    results = extractor.extract(chunks)
    assert [r.chunk_id for r in results] == [c.id for c in chunks]


def test_a_surname_after_the_full_name_is_the_same_person(extractor: SpacyExtractor) -> None:
    chunk = _chunk("Ingrid Solberg designed the viaduct. Solberg was born in Bergen.")
    [result] = extractor.extract([chunk])
    names = {e.name for e in result.entities}
    assert "Solberg" not in names and "Ingrid Solberg" in names
    assert any(r.source == "Ingrid Solberg" and r.target == "Bergen" for r in result.relations)


def test_short_names_map_only_to_a_unique_longer_person() -> None:
    from graph.extraction.spacy import short_name_map

    assert short_name_map({"Ingrid Solberg": "PERSON", "Solberg": "PERSON"}) == {"Solberg": "Ingrid Solberg"}
    assert short_name_map({"Ada Smith": "PERSON", "Bob Smith": "PERSON", "Smith": "PERSON"}) == {}
    assert short_name_map({"Bank of Smith": "ORG", "Smith": "PERSON"}) == {}


def test_names_do_not_run_across_a_title_line() -> None:
    from graph.extraction.spacy import SpacyExtractor

    doc = Document.from_text(
        "Umbria\n\nUmbria is a region of central Italy.\n\nAcademy of Lumen\n\nFounded in 1820, the Academy of "
        "Lumen trained painters in Perugia.",
        source="t.txt",
        title="t",
    )
    chunk = Chunk.from_span(doc, 0, 0, len(doc.text), chunker="test")
    names = {m.name for m in SpacyExtractor().extract([chunk])[0].entities}
    assert not any("\n" in n or n.split()[-1] == "Founded" or n == "Umbria Umbria" for n in names), names
    assert "Umbria" in names
