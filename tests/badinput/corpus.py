"""A generated folder of hostile files (and a few good ones), each with what ingest must do with it.

Nothing here is committed as binary: every file is written by ``build_corpus`` into a temporary
folder. ``expected`` maps each file name to ``None`` (must be ingested) or a regex that the reported
error must match (a clear reason).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from tests.badinput import pdfs

GOOD_PROSE = "The Kestrel River rises in the Grey Fells. Ingrid Solberg built the Halvorsen Viaduct over it in 1931."

UNREADABLE_PDF = r"(unreadable|malformed).*PDF|no extractable text in the PDF"
NOT_TEXT = r"looks binary|not valid UTF-8|not valid UTF-16|not valid UTF-32"
EMPTY = r"no text to ingest|no extractable text"
UNSUPPORTED = r"unsupported file type"


def build_corpus(root: Path, outside: Path) -> dict[str, str | None]:
    """Write the corpus under ``root`` (and a target under ``outside``); return the expectations."""
    expected: dict[str, str | None] = {}

    def put(name: str, content: bytes | str, expect: str | None) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (root / name).write_bytes(data)
        expected[name] = expect

    _good(put)
    _pdfs(put)
    _text(put)
    _markup(put)
    _jsonl(put)
    _unsupported(put)
    _special(root, outside, expected)
    return expected


def _good(put) -> None:  # type: ignore[no-untyped-def]
    put("good.txt", "Grey Fells is a moorland. Sheep graze there in summer.", None)
    put("good.md", "# Viaduct\n\n" + GOOD_PROSE, None)
    put("good.html", f"<html><head><title>River</title></head><body><p>{GOOD_PROSE}</p></body></html>", None)
    put("good.pdf", pdfs.text_page_pdf("The Halvorsen Viaduct carries the coast railway."), None)
    rows = [{"id": "r1", "title": "Row one", "text": GOOD_PROSE}, {"id": "r2", "text": "Solberg retired in 1950."}]
    put("good.jsonl", "".join(json.dumps(r) + "\n" for r in rows), None)
    put("utf16le.txt", b"\xff\xfe" + "Zürich lies on a lake.".encode("utf-16-le"), None)
    put("utf16be.md", b"\xfe\xff" + "# Tōkyō\n\nA large city.".encode("utf-16-be"), None)
    put("utf32.txt", b"\xff\xfe\x00\x00" + "Ünïcödé text in UTF-32.".encode("utf-32-le"), None)
    put("utf8bom.txt", b"\xef\xbb\xbf" + b"A file with a byte order mark.", None)
    put("control_chars.txt", "Bell\x07 escape\x1b[31m red\x1b[0m form\x0cfeed and text.", None)
    put("[red]markup name.txt", "A file whose name looks like rich markup.", None)
    put("long_line.txt", "lorem ipsum dolor sit amet " * 800, None)  # ~21 KB, one line, no sentence end
    put("dots.txt", "." * 5_000 + " End.", None)  # was quadratic in the sentence splitter
    put("heading_spaces.md", "# a" + " " * 100_000 + "b\n\nbody text here.", None)  # was quadratic in the title regex
    put("partial.jsonl", '{"id": "ok", "text": "The only good row."}\n' + "{broken\n" * 1000, None)


def _pdfs(put) -> None:  # type: ignore[no-untyped-def]
    makers = [
        pdfs.nested_array_pdf, pdfs.nested_dict_pdf, pdfs.self_referencing_pages_pdf,
        pdfs.self_referencing_object_pdf, pdfs.root_loop_pdf, pdfs.pages_is_not_a_dict_pdf, pdfs.truncated_pdf,
    ]  # fmt: skip
    for maker in makers:
        put(f"{maker.__name__}.pdf", maker(), UNREADABLE_PDF)
    put("nested_array_shallow.pdf", pdfs.nested_array_pdf(depth=200), UNREADABLE_PDF)
    put("zero_byte.pdf", b"", UNREADABLE_PDF)
    put("header_only.pdf", b"%PDF-1.7\n", UNREADABLE_PDF)
    put("text_named.pdf", "This is plain text with a pdf extension.", UNREADABLE_PDF)
    put(
        "no_xref.pdf",
        pdfs.pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"], xref=False),
        UNREADABLE_PDF,
    )
    put("empty_page.pdf", pdfs.pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]), UNREADABLE_PDF)  # fmt: skip
    for seed in range(12):
        junk = random.Random(seed).randbytes(2000)
        put(f"junk_{seed}.pdf", b"%PDF-1.4\n" + junk, UNREADABLE_PDF)


def _text(put) -> None:  # type: ignore[no-untyped-def]
    for ext in (".txt", ".text", ".md", ".markdown", ".html", ".htm"):
        put(f"empty{ext}", b"", EMPTY)
        put(f"blank{ext}", b" \n\t\r\n  ", EMPTY)
    for seed in range(18):
        put(f"binary_junk_{seed}.txt", random.Random(seed).randbytes(4096), NOT_TEXT)
    for seed in range(8):
        junk = bytes(b | 0x80 for b in random.Random(100 + seed).randbytes(300))  # high bytes, no NUL
        put(f"invalid_utf8_{seed}.md", b"valid start " + junk, NOT_TEXT)
    put("latin1.txt", "café crème brûlée".encode("latin-1"), NOT_TEXT)
    put("utf16_no_bom.txt", "No byte order mark here.".encode("utf-16-le"), NOT_TEXT)
    put("utf16_odd_length.txt", b"\xff\xfe" + "abc".encode("utf-16-le") + b"\x00", NOT_TEXT)
    put("utf16_lone_surrogate.txt", b"\xff\xfe" + b"\x00\xd8" + "x".encode("utf-16-le"), NOT_TEXT)
    put("nul_bytes.md", b"# Title\n\nsome text\x00\x00 with NULs", NOT_TEXT)
    put("nul_late.md", b"# Title\n\n" + b"word " * 3000 + b"\x00", NOT_TEXT)
    put("png_as_txt.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", NOT_TEXT)


def _markup(put) -> None:  # type: ignore[no-untyped-def]
    put("deep_divs.html", "<div>" * 50_000 + "</div>" * 50_000, EMPTY)
    put("deep_divs_text.html", "<div>" * 20_000 + "Deep inside the divs lies one sentence." + "</div>" * 20_000, None)
    put("unclosed.html", "<html><body><p>Unclosed paragraph about the <b>Kestrel River" + "<i>" * 5000, None)
    put("script_only.html", "<script>" + "var x = 1;" * 1000 + "</script>", EMPTY)
    put("entity_flood.html", "&amp;" * 20_000 + "&#0;&#xD800;&bogus;", None)
    put("lt_junk.html", "<" * 10_000 + ">" * 10_000, None)
    put("comment_bomb.html", "<!--" * 10_000 + "visible?", None)
    put("only_heading.md", "# \n#\n##", None)


def _jsonl(put) -> None:  # type: ignore[no-untyped-def]
    put("all_broken.jsonl", "{broken\n" * 50, r"no valid JSON lines")
    put("huge_id.jsonl", json.dumps({"id": "x" * 10_000, "text": "text"}) + "\n", r"no valid JSON lines.*id too long")
    put("non_objects.jsonl", '[1, 2]\n"a string"\n42\nnull\ntrue\n', r"no valid JSON lines.*expected an object")
    put("text_not_string.jsonl", '{"text": 5}\n{"text": ["a"]}\n{"text": ""}\n', r"no valid JSON lines")
    put("deep_json.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", r"no valid JSON lines")
    put("empty.jsonl", b"", r"no valid JSON lines")
    put("binary.jsonl", random.Random(7).randbytes(1000) + b"\x00", NOT_TEXT)
    put("empty.ndjson", b"\n\n\n", r"no valid JSON lines")


def _unsupported(put) -> None:  # type: ignore[no-untyped-def]
    for ext in (
        ".png",
        ".jpg",
        ".docx",
        ".exe",
        ".zip",
        ".csv",
        ".json",
        ".xml",
        ".rtf",
        ".odt",
        ".py",
        ".gz",
        ".tar",
        ".mp3",
        ".svg",
    ):
        put(f"file{ext}", b"some bytes", UNSUPPORTED)
    put("no_extension", b"plain words", UNSUPPORTED)
    put("trailing_dot.", b"plain words", UNSUPPORTED)


def _special(root: Path, outside: Path, expected: dict[str, str | None]) -> None:
    (outside / "secret.txt").write_text("Outside the ingested folder: must never be read.")
    links = {
        "loop.txt": (root / "loop.txt", r"symbolic link loop"),
        "dangling.txt": (root / "missing-target.txt", r"dangling symbolic link"),
        "escape.txt": (outside / "secret.txt", r"symbolic link to outside the ingested folder"),
        "escape_dir": (outside, r"symbolic link to outside the ingested folder"),
        "inside_link.txt": (root / "good.txt", None),
    }
    for name, (target, expect) in links.items():
        (root / name).symlink_to(target)
        expected[name] = expect
    os.mkfifo(root / "fifo.txt")
    expected["fifo.txt"] = r"not a regular file \(a FIFO\)"
