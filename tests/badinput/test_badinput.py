"""Issue 12: a folder of >= 100 hostile files goes through the real ingest (Engine on the embedded
store, then the ``amalgam ingest`` CLI): every file is ingested or reported with a clear reason,
the good files are all stored, nothing outside the folder is read, and the exit status is 1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.config import load_settings
from app.engine import Engine
from app.pipeline import IngestReport
from tests.badinput.corpus import build_corpus

GOOD_FILES = ["good.txt", "good.md", "good.html", "good.pdf", "good.jsonl", "utf16le.txt", "utf16be.md", "utf32.txt"]


class Ingested:
    def __init__(self, root: Path, data_dir: Path, expected: dict[str, str | None], report: IngestReport,
                 sources: list[str], texts: list[str]) -> None:  # fmt: skip
        self.root, self.data_dir, self.expected, self.report = root, data_dir, expected, report
        self.sources, self.texts = sources, texts

    def errors_of(self, name: str) -> list[str]:
        return [e.error for e in self.report.errors if Path(e.path).name == name]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    base = tmp_path_factory.mktemp("badinput")
    root, outside = base / "corpus", base / "outside"
    root.mkdir()
    outside.mkdir()
    expected = build_corpus(root, outside)
    # The sentence chunker keeps the run short on two cores; the loaders and splitter are the same.
    engine = Engine(load_settings(data_dir=base / "data", chunker="sentence"))
    try:
        report = engine.ingest([root])
        listed = engine.store.list_documents()  # without text
        docs = [doc for doc in (engine.store.get_document(d.id) for d in listed) if doc is not None]
    finally:
        engine.close()
    yield Ingested(root, base / "data", expected, report, [d.source for d in docs], [d.text for d in docs])


def test_the_corpus_is_large_and_hostile(ingested: Ingested) -> None:
    hostile = [name for name, expect in ingested.expected.items() if expect is not None]
    assert len(hostile) >= 100 and len(ingested.expected) == len(list(ingested.root.iterdir()))


def test_every_file_is_ingested_or_reported_with_a_clear_reason(ingested: Ingested) -> None:
    stored = {Path(source.split("#")[0]).name for source in ingested.sources}
    for name, expect in ingested.expected.items():
        errors = ingested.errors_of(name)
        if expect is None:  # ingested; a file may still report bad records (a broken JSONL line)
            record = rf"{re.escape(str(ingested.root / name))}: (line|page) \d+: "
            assert all(re.match(record, e) for e in errors), errors
        else:
            assert errors, f"{name} was neither ingested nor reported"
            assert name not in stored
            assert all(re.search(expect, e, re.DOTALL) for e in errors), f"{name}: {errors} !~ {expect}"
            assert all(e.startswith(str(ingested.root / name) + ":") for e in errors)  # names the file, then why
    assert ingested.report.files == len(ingested.expected)
    assert {Path(e.path).name for e in ingested.report.errors} <= set(ingested.expected)


def test_good_files_are_all_stored_and_nothing_outside_is_read(ingested: Ingested) -> None:
    stored = {Path(source.split("#")[0]).name for source in ingested.sources}
    assert set(GOOD_FILES) <= stored
    assert sum(source.endswith(("good.jsonl#r1", "good.jsonl#r2")) for source in ingested.sources) == 2
    assert any("Zürich lies on a lake." in text for text in ingested.texts)  # UTF-16 decoded, not "binary"
    assert not any("must never be read" in text for text in ingested.texts)


def test_broken_jsonl_lines_reach_the_report(ingested: Ingested) -> None:
    problems = ingested.errors_of("partial.jsonl")
    assert len(problems) == 1000 and all(re.search(r"line \d+: not valid JSON", p) for p in problems)


def test_cli_lists_the_problems_and_exits_1(ingested: Ingested, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import app

    monkeypatch.setenv("AMALGAM_DATA_DIR", str(ingested.data_dir))
    monkeypatch.setenv("AMALGAM_CHUNKER", "sentence")
    result = CliRunner().invoke(app, ["ingest", str(ingested.root)])
    assert result.exit_code == 1, result.output
    output = result.output
    assert "symbolic link loop" in output and "not a regular file (a FIFO)" in output
    assert "[red]markup name.txt" not in output or "error:" in output
    assert re.search(r"\d+ problem\(s\) in \d+ file\(s\): not ingested", output)
