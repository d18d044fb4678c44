"""Tolerant parsing of extraction replies: JSON repair, shape guessing, item validation."""

from __future__ import annotations

import json

import pytest

from app.errors import ExtractionError
from graph.extraction.parsing import extraction_json_schema, parse_extraction, repair_json, strip_fences


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ('```json\n{"entities": [{"name": "Toto"}],}\n```', {"entities": [{"name": "Toto"}]}),
        (
            "Sure! {'entities': [], 'ok': True, 'x': None} Hope it helps.",
            {"entities": [], "ok": True, "x": None},
        ),
        ('{entities: [{name: "Toto" type: BAND}]}', {"entities": [{"name": "Toto", "type": "BAND"}]}),
        ('{"a": "the "best" band"}', {"a": 'the "best" band'}),
        ('{"a": "x"\n"b": "y"}', {"a": "x", "b": "y"}),
        ('[{"n": 1} {"n": 2}]', [{"n": 1}, {"n": 2}]),
        ('{"a": [1, 2}', {"a": [1, 2]}),
        ('{"a": 1}} and more text {"b": 2}', {"a": 1}),
        ('{"a": "line one\nline two"}', {"a": "line one\nline two"}),
        ('{"a": 1, // a comment\n "b": /* inline */ 2}', {"a": 1, "b": 2}),
        ("{\u201ca\u201d: \u201cb\u201d}", {"a": "b"}),
    ],
)
def test_repair_fixes_common_faults(broken: str, expected: object) -> None:
    assert json.loads(repair_json(broken)) == expected


def test_repair_cuts_truncated_output_back_to_the_last_complete_value() -> None:
    cut = '{"entities": [{"name": "A", "type": "X"}, {"name": "B", "type": "PER'
    assert json.loads(repair_json(cut)) == {"entities": [{"name": "A", "type": "X"}, {"name": "B"}]}


@pytest.mark.parametrize("hopeless", ["no json here", '{"entities": [{"name": '])
def test_repair_refuses_text_without_any_complete_value(hopeless: str) -> None:
    with pytest.raises(ValueError):
        repair_json(hopeless)


def test_strip_fences_keeps_text_without_fences() -> None:
    assert strip_fences('{"a": 1}') == '{"a": 1}'
    assert strip_fences('Here:\n```\n{"a": 1}\n```\nDone') == '{"a": 1}\n'


def test_clean_reply_parses_without_repair() -> None:
    reply = json.dumps(
        {
            "entities": [{"name": "Toto", "type": "BAND", "description": "A rock band."}],
            "relations": [{"source": "Porcaro", "target": "Toto", "type": "MEMBER_OF", "strength": 8}],
        }
    )
    parsed = parse_extraction(reply)
    assert parsed.clean
    assert parsed.payload.entities[0].name == "Toto"
    assert parsed.payload.relations[0].strength == 8.0


def test_aliases_strings_and_triples_are_coerced_and_marked_repaired() -> None:
    reply = (
        '{"nodes": ["Toto", {"entity_name": "Porcaro", "entity_type": "person"}],'
        ' "edges": [["Porcaro", "member of", "Toto"]]}'
    )
    parsed = parse_extraction(reply)
    assert parsed.repaired and parsed.dropped == 0
    assert [(e.name, e.type) for e in parsed.payload.entities] == [("Toto", "CONCEPT"), ("Porcaro", "person")]
    relation = parsed.payload.relations[0]
    assert (relation.source, relation.type, relation.target) == ("Porcaro", "member of", "Toto")


def test_invalid_items_are_dropped_and_counted_not_fatal() -> None:
    reply = '{"entities": [{"name": ""}, {"type": "X"}, {"name": "Toto"}], "relations": [{"source": "A"}]}'
    parsed = parse_extraction(reply)
    assert [e.name for e in parsed.payload.entities] == ["Toto"]
    assert parsed.dropped == 3 and not parsed.clean


def test_strength_is_clamped_or_defaulted() -> None:
    reply = (
        '{"entities": [], "relations": [{"source": "A", "target": "B", "strength": 42},'
        ' {"source": "A", "target": "C", "strength": "high"}]}'
    )
    strengths = [r.strength for r in parse_extraction(reply).payload.relations]
    assert strengths == [10.0, 1.0]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("", "empty"),
        ("I cannot help with that.", "not valid JSON"),
        ('{"answer": 42}', "'entities'"),
        ('{"entities": "Toto"}', "must be lists"),
        ('{"entities": [{"type": "X"}], "relations": []}', "no item matches"),
    ],
)
def test_unusable_replies_raise_an_error_the_model_can_be_shown(reply: str, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        parse_extraction(reply)


def test_valid_empty_reply_is_not_an_error() -> None:
    parsed = parse_extraction('{"entities": [], "relations": []}')
    assert parsed.clean and not parsed.payload.entities


def test_schema_is_flat_and_bounded() -> None:
    schema = extraction_json_schema(max_items=5)
    assert "$defs" not in json.dumps(schema)
    assert schema["properties"]["entities"]["maxItems"] == 5
    assert schema["required"] == ["entities", "relations"]
