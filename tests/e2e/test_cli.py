"""The main job through the real command line: ingest the sample corpus, ask, re-ingest, bad files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "docs" / "sample"


def amalgam(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMALGAM_")}
    env.update(AMALGAM_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


def _neo4j_env(tmp_path: Path, neo4j_server: object) -> dict[str, str]:
    uri = getattr(neo4j_server, "uri", None) or neo4j_server[0]  # type: ignore[index]
    return _env(
        tmp_path,
        AMALGAM_GRAPH_BACKEND="neo4j",
        AMALGAM_NEO4J_URI=str(uri),
        AMALGAM_NEO4J_PASSWORD="unused",
        AMALGAM_WORKSPACE=f"e2e{os.getpid()}",
    )


def _ingest_and_ask(env: dict[str, str]) -> None:
    ingest = amalgam(env, "ingest", str(SAMPLE))
    assert ingest.returncode == 0, ingest.stderr
    assert "5 files" in ingest.stdout and "6 new" in ingest.stdout

    asked = amalgam(env, "ask", "Where was Ingrid Solberg born?", "--json")
    assert asked.returncode == 0, asked.stderr
    response = json.loads(asked.stdout)
    assert response["sources"][0]["source"].endswith("ingrid_solberg.txt")
    assert "Bergen" in response["answer"]

    on_page = json.loads(amalgam(env, "ask", "What did the expansion joints of the viaduct cost?", "--json").stdout)
    pdf_source = next(s for s in on_page["sources"] if s["source"].endswith(".pdf"))
    assert 2 in pdf_source["pages"] and pdf_source["page"] == pdf_source["pages"][0]

    again = amalgam(env, "ingest", str(SAMPLE))
    assert again.returncode == 0 and "6 unchanged" in again.stdout and "0 chunks" in again.stdout


def test_ingest_and_ask_on_the_embedded_store(tmp_path: Path) -> None:
    _ingest_and_ask(_env(tmp_path))


@pytest.mark.neo4j
def test_ingest_and_ask_on_neo4j(tmp_path: Path, neo4j_server: object) -> None:
    _ingest_and_ask(_neo4j_env(tmp_path, neo4j_server))


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")
    result = amalgam(_env(tmp_path), "ingest", str(corpus))
    assert result.returncode == 1
    assert "broken.pdf" in result.stderr and "notes.docx" in result.stderr
    assert "6 new" in result.stdout


def test_changed_file_replaces_its_old_version(tmp_path: Path) -> None:
    env = _env(tmp_path)
    note = tmp_path / "note.txt"
    note.write_text("The Kestrel lighthouse was painted red in 1990.")
    assert amalgam(env, "ingest", str(note)).returncode == 0
    note.write_text("The Kestrel lighthouse was painted green in 2005.")
    result = amalgam(env, "ingest", str(note))
    assert "1 replaced" in result.stdout
    listed = json.loads(amalgam(env, "documents", "list", "--json").stdout)
    assert len(listed) == 1
    answer = json.loads(amalgam(env, "ask", "What colour is the Kestrel lighthouse?", "--json").stdout)
    assert "green" in answer["answer"] and "red" not in answer["answer"]


def test_unreachable_neo4j_is_one_clear_line(tmp_path: Path) -> None:
    env = _env(
        tmp_path, AMALGAM_GRAPH_BACKEND="neo4j", AMALGAM_NEO4J_URI="bolt://127.0.0.1:1", AMALGAM_NEO4J_PASSWORD="x"
    )
    result = amalgam(env, "documents", "list")
    assert result.returncode != 0
    assert "bolt://127.0.0.1:1" in result.stderr and "amalgam neo4j start" in result.stderr
    assert "Traceback" not in result.stderr
