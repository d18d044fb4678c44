from __future__ import annotations

import json
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


# -- hardening (issue 12) ----------------------------------------------------------------------------
from ingest.loaders.registry import Skipped, load_file  # noqa: E402
from ingest.models import MAX_ID_CHARS, MAX_SOURCE_CHARS, MAX_TITLE_CHARS, Document  # noqa: E402
from tests.badinput import pdfs  # noqa: E402


@pytest.mark.parametrize(
    ("maker", "message"),
    [
        (pdfs.nested_array_pdf, "PDF"),
        (pdfs.nested_dict_pdf, "PDF"),
        (pdfs.self_referencing_pages_pdf, "PDF"),
        (pdfs.self_referencing_object_pdf, "PDF"),  # pypdf: AttributeError
        (pdfs.root_loop_pdf, "PDF"),  # pypdf: AttributeError
        (pdfs.pages_is_not_a_dict_pdf, "PDF"),
        (pdfs.truncated_pdf, "PDF"),
    ],
)
def test_a_malformed_pdf_of_any_kind_is_an_ingest_error(tmp_path: Path, maker, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hostile.pdf"
    path.write_bytes(maker())
    with pytest.raises(IngestError, match=message) as info:
        load_path(path)
    assert "hostile.pdf" in str(info.value)


def test_a_hand_written_valid_pdf_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.pdf"
    path.write_bytes(pdfs.text_page_pdf("Hello from a generated page"))
    [doc] = load_path(path)
    assert doc.text == "Hello from a generated page" and [s.page for s in doc.pages] == [1]


def test_any_exception_inside_a_loader_becomes_a_per_file_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.loaders.text import TextLoader

    def explode(self: TextLoader, path: Path) -> list[Document]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(TextLoader, "load", explode)
    (tmp_path / "a.txt").write_text("fine text")
    with pytest.raises(IngestError, match=r"a\.txt: malformed TXT \(structure nested too deeply\)"):
        load_path(tmp_path / "a.txt")
    monkeypatch.setattr(TextLoader, "load", lambda self, path: {}["missing"])
    with pytest.raises(IngestError, match=r"a\.txt: malformed or unreadable TXT \(KeyError: 'missing'\)"):
        load_path(tmp_path / "a.txt")


@pytest.mark.parametrize(
    ("codec", "bom"),
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-32-le", b"\xff\xfe\x00\x00"),
     ("utf-32-be", b"\x00\x00\xfe\xff"), ("utf-8", b"\xef\xbb\xbf")],
)  # fmt: skip
def test_unicode_with_a_byte_order_mark_is_decoded(tmp_path: Path, codec: str, bom: bytes) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(bom + "# Café Ünïcode\n\nZürich – 東京.".encode(codec))
    [doc] = load_path(path)
    assert doc.title == "Café Ünïcode" and doc.text.endswith("Zürich – 東京.")


def test_broken_utf16_and_nul_characters_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "odd.txt").write_bytes(b"\xff\xfe" + "abc".encode("utf-16-le") + b"\x00")  # odd byte count
    with pytest.raises(IngestError, match="not valid UTF-16 text"):
        load_path(tmp_path / "odd.txt")
    (tmp_path / "nul.md").write_bytes(b"# Title\n" + b"x" * 10_000 + b"\x00tail")  # NUL past the sniffed prefix
    with pytest.raises(IngestError, match="binary"):
        load_path(tmp_path / "nul.md")


def test_jsonl_problems_are_returned_per_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    lines = ['{"id": "good", "text": "the one good row"}', "{not json", "[1, 2]", '{"id": "no text"}',
             json_row("x" * (MAX_ID_CHARS + 1)), '{"id": "sep", "text": "a\u2028b"}']  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_file(path)
    assert [d.metadata["row_id"] for d in loaded.documents] == ["good", "sep"]
    assert loaded.documents[1].text == "a\u2028b"  # U+2028 inside a JSON string does not end the line
    assert [p.split(":")[0] for p in loaded.problems] == ["line 2", "line 3", "line 4", "line 5"]
    assert "not valid JSON" in loaded.problems[0] and "expected an object" in loaded.problems[1]
    assert f"id too long ({MAX_ID_CHARS + 1} characters; at most {MAX_ID_CHARS})" in loaded.problems[3]


def json_row(row_id: str) -> str:
    return json.dumps({"id": row_id, "text": "text"})


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(IngestError, match=r"big\.txt: too large \(0\.0 MB; the per-file limit is 0\.0 MB\)"):
        load_path(path, max_bytes=4999)
    assert load_path(path, max_bytes=5000) and load_path(path, max_bytes=None)


def test_document_identity_fields_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=f"source name too long .* at most {MAX_SOURCE_CHARS}"):
        Document.from_text("text", source="s" * (MAX_SOURCE_CHARS + 1), title="t")
    doc = Document.from_text("text", source="s", title="t" * 5000)  # a title is a label: cut, not refused
    assert len(doc.title) == MAX_TITLE_CHARS and doc.title.endswith("…")
    with pytest.raises(ValueError, match="at most 1024 characters"):
        Document(id="doc-1", source="s" * (MAX_SOURCE_CHARS + 1), title="t", text="x", hash="h")


def test_discover_reports_what_it_does_not_load(tmp_path: Path) -> None:
    import os

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("not to be read")
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.md").write_text("b")
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling.txt").symlink_to(root / "missing.txt")
    (root / "escape.txt").symlink_to(outside / "secret.txt")
    (root / "escape_dir").symlink_to(outside)
    (root / "inside.txt").symlink_to(root / "a.txt")
    os.mkfifo(root / "pipe.txt")
    found = {Path(str(p)).name: (p.reason if isinstance(p, Skipped) else None) for p in discover([root])}
    assert found == {
        "a.txt": None,
        "b.md": None,
        "inside.txt": None,  # a link to a file inside the folder is followed
        "loop": "symbolic link loop",
        "dangling.txt": f"dangling symbolic link (to {root / 'missing.txt'})",
        "escape.txt": "symbolic link to outside the ingested folder (not followed)",
        "escape_dir": "symbolic link to outside the ingested folder (not followed)",
        "pipe.txt": "not a regular file (a FIFO)",
    }
    with pytest.raises(IngestError, match=r"escape\.txt: skipped, symbolic link to outside"):
        load_file(next(p for p in discover([root]) if str(p).endswith("escape.txt")))
    with pytest.raises(IngestError, match=r"pipe\.txt: not a regular file \(a FIFO\)"):
        load_path(root / "pipe.txt")  # named directly: refused without blocking on the pipe
