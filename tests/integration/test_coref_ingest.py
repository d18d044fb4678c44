"""Name coreference through the product: a biography ingested by the real Engine (sentence chunks,
offline spaCy extraction, MiniLM fusion, embedded store), then looked up with ``amalgam graph entity``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli_graph import graph_app
from app.config import load_settings
from app.engine import Engine

BIOGRAPHY = """John Fitzgerald Kennedy was born in Brookline, Massachusetts, in 1917.
Kennedy served in the United States Navy during the Second World War.
In 1961 John Kennedy founded the Peace Corps.
Kennedy was assassinated in Dallas in 1963.
"""
# Another document: a different person of the same surname, which must stay apart.
SENATOR = """Edward Moore Kennedy represented Massachusetts in the Senate for almost 47 years.
Kennedy was born in Boston in 1932.
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("coref")
    corpus = data_dir / "corpus"
    corpus.mkdir()
    (corpus / "jfk.txt").write_text(BIOGRAPHY)
    (corpus / "ted.txt").write_text(SENATOR)
    # Small chunks: one sentence each, so the surname sits in other chunks than the full name.
    settings = load_settings(data_dir=data_dir, chunker="sentence", chunk_target_tokens=16, chunk_max_tokens=32)
    engine = Engine(settings)
    try:
        report = engine.ingest([corpus])
        assert report.documents_new == 2 and report.chunks >= 6
    finally:
        engine.close()
    return data_dir


def _entities(data_dir: Path, name: str) -> list[dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(graph_app, ["entity", name, "--json"], env={"AMALGAM_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    return found if isinstance(found, list) else [found]


def test_the_surname_resolves_to_the_full_name_entity_of_its_document(workspace: Path) -> None:
    by_name = {e["name"]: e for e in _entities(workspace, "Kennedy")}
    assert set(by_name) == {"John Fitzgerald Kennedy", "Edward Moore Kennedy"}
    jfk = by_name["John Fitzgerald Kennedy"]
    assert {"Kennedy", "John Kennedy"} <= set(jfk["aliases"])
    assert jfk["type"] == "PERSON" and jfk["matched_as"] == "alias"
    # Every sentence of the biography mentions him: the surname-only ones did not make a second node.
    assert jfk["evidence_count"] == 4
    assert jfk["sources"] == ["jfk"]
    assert by_name["Edward Moore Kennedy"]["sources"] == ["ted"]
    # "John Kennedy" finds the one person, by alias.
    assert [e["name"] for e in _entities(workspace, "john kennedy")] == ["John Fitzgerald Kennedy"]


def test_the_cli_lists_every_entity_a_name_maps_to_with_what_tells_them_apart(workspace: Path) -> None:
    result = CliRunner().invoke(graph_app, ["entity", "Kennedy"], env={"AMALGAM_DATA_DIR": str(workspace)})
    assert result.exit_code == 0, result.output
    assert "2 entities are named or aliased 'Kennedy'" in result.output
    lines = result.output.splitlines()
    jfk = next(line for line in lines if line.startswith("  - John Fitzgerald Kennedy [PERSON]"))
    ted = next(line for line in lines if line.startswith("  - Edward Moore Kennedy [PERSON]"))
    assert "(from jfk)" in jfk and "(from ted)" in ted


def test_an_unknown_name_is_an_error(workspace: Path) -> None:
    result = CliRunner().invoke(graph_app, ["entity", "Nixon"], env={"AMALGAM_DATA_DIR": str(workspace)})
    assert result.exit_code == 1 and "no entity named 'Nixon'" in result.output
