"""The evaluation's workspace: built by ``Engine.ingest`` from the corpus as JSONL, reused while nothing that
changes ingest changed, rebuilt when something did; and ``amalgam eval multihop`` end to end on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.config import load_settings
from app.evaluation.datasets import Passage
from app.evaluation.workspace import MARKER, WORKSPACE_FORMAT, open_workspace

LONG = " ".join(f"Sentence {i} tells how the Tiber flows past Orvieto towards Rome." for i in range(12))
PASSAGES = [
    Passage("p1", "Marta Velasquez", "A painter born in Orvieto, Marta Velasquez studied at Academy of Lumen."),
    Passage("p2", "Academy of Lumen", "Founded in 1820 by Giulia Serra, Academy of Lumen is an art school."),
    Passage("p3", "Tiber", LONG),
]


def _settings(tmp_path: Path, chunker: str = "fixed"):  # type: ignore[no-untyped-def]
    return load_settings(
        data_dir=tmp_path / "data", chunker=chunker, chunk_target_tokens=32, chunk_max_tokens=64, extractor="spacy"
    )


def test_same_settings_reuse_the_workspace_and_a_changed_chunker_rebuilds(tmp_path: Path) -> None:
    first = open_workspace(_settings(tmp_path), PASSAGES)
    try:
        name, mapping = first.engine.settings.workspace, first.chunk_to_passage
        assert first.built and set(mapping.values()) == {"p1", "p2", "p3"}
        assert list(mapping.values()).count("p3") >= 2  # a passage cut into several chunks is still one passage
        hits = first.retriever.rank("Who founded Academy of Lumen?", k=5, mode="dense").hits
        assert mapping[hits[0].chunk_id] == "p2"
    finally:
        first.close()
    again = open_workspace(_settings(tmp_path), PASSAGES)
    again.close()
    assert not again.built and again.engine.settings.workspace == name and again.chunk_to_passage == mapping
    other = open_workspace(_settings(tmp_path, chunker="sentence"), PASSAGES)
    other.close()
    assert other.built and other.engine.settings.workspace != name


def test_a_workspace_marked_by_older_code_is_rebuilt_not_reused(tmp_path: Path) -> None:
    built = open_workspace(_settings(tmp_path), PASSAGES[:2])
    built.close()
    marker = built.engine.settings.workspace_dir / MARKER
    key = json.loads(marker.read_text())
    marker.write_text(json.dumps({**key, "format": WORKSPACE_FORMAT - 1}))
    rebuilt = open_workspace(_settings(tmp_path), PASSAGES[:2])
    rebuilt.close()
    assert rebuilt.built and json.loads(marker.read_text()) == key
    assert set(rebuilt.chunk_to_passage.values()) == {"p1", "p2"}


def test_eval_multihop_runs_on_a_small_data_set_and_reuses_its_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import app

    data = tmp_path / "set"
    data.mkdir()
    (data / "corpus.jsonl").write_text("".join(json.dumps(vars(p)) + "\n" for p in PASSAGES))
    question = {
        "id": "q1",
        "dataset": "toy",
        "question": "Who founded the school where Marta Velasquez studied?",
        "answer": "Giulia Serra",
        "split": "dev",
        "supporting_ids": ["p1", "p2"],
    }
    (data / "questions.jsonl").write_text(json.dumps(question) + "\n")
    for name, value in {"DATA_DIR": tmp_path / "data", "CHUNKER": "sentence", "EXTRACTOR": "spacy"}.items():
        monkeypatch.setenv(f"AMALGAM_{name}", str(value))
    runs = [
        CliRunner().invoke(app, ["eval", "multihop", "--dataset-dir", str(data), "--methods", "dense,hybrid"])
        for _ in range(2)
    ]
    assert [r.exit_code for r in runs] == [0, 0], runs[0].output
    assert "(built)" in runs[0].output and "(reused)" in runs[1].output
    assert "| toy | hybrid | 100.0 |" in runs[1].output  # both gold passages in the top 2 of three
