from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import IngestError
from ingest.loaders import discover, load_path

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"


def test_markdown_title_comes_from_first_heading() -> None:
    [doc] = load_path(SAMPLE / "halvorsen_viaduct.md")
    assert doc.title == "Halvorsen Viaduct"
    assert "Ingrid Solberg" in doc.text
    assert doc.id.startswith("doc-") and len(doc.hash) == 64


def test_html_keeps_visible_text_only() -> None:
    [doc] = load_path(SAMPLE / "kestrel_river.html")
    assert doc.title == "Kestrel River"
    assert "Grey Fells" in doc.text
    assert "console.log" not in doc.text and "font-family" not in doc.text


def test_pdf_keeps_page_numbers() -> None:
    [doc] = load_path(SAMPLE / "railway_annual_report.pdf")
    assert [span.page for span in doc.pages] == [1, 2]
    expansion = doc.text.index("expansion joints")
    assert doc.pages_between(expansion, expansion + 10) == [2]
    assert doc.pages_between(0, 10) == [1]
    assert doc.title == "Northern Coast Railway Annual Report 2023"


def test_jsonl_gives_one_document_per_line_with_title() -> None:
    docs = load_path(SAMPLE / "mercury.jsonl")
    assert [d.title for d in docs] == ["Mercury (planet)", "Mercury (element)"]
    assert docs[0].source.endswith("mercury.jsonl#mercury-planet")
    assert docs[0].text.startswith("Mercury (planet)")


def test_jsonl_skips_bad_lines_but_keeps_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1, "text": "good row"}\n{not json\n{"id": 3}\n')
    docs = load_path(path)
    assert [d.text for d in docs] == ["good row"]


def test_same_text_gives_same_identity(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("same words")
    (tmp_path / "b.txt").write_text("same words")
    assert load_path(tmp_path / "a.txt")[0].id == load_path(tmp_path / "b.txt")[0].id


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"   \n", "empty"),
        ("binary.txt", b"\x00\x01\x02binary", "binary"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "UTF-8"),
        ("corrupt.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("image.png", b"\x89PNG", "unsupported"),
        ("bad.jsonl", b"{oops", "no valid JSON"),
    ],
)
def test_bad_input_gives_a_clear_error(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        load_path(path)
    assert name in str(info.value)


def test_discover_walks_folders_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    (tmp_path / "a.md").write_text("a")
    (tmp_path / ".hidden.txt").write_text("h")
    assert [p.name for p in discover([tmp_path])] == ["a.md", "b.txt"]
