"""Hand-written PDF bytes, well-formed or hostile, for loader tests (no PDF library writes them)."""

from __future__ import annotations


def pdf(objects: list[bytes], *, root: int = 1, xref: bool = True) -> bytes:
    """A PDF file of ``objects`` (object i+1 is ``objects[i]``), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, start)
    return bytes(out)


def text_page_pdf(text: str) -> bytes:
    """A valid one-page PDF showing ``text`` (ASCII) in Helvetica."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode("ascii") + b") Tj ET"
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])  # fmt: skip


def nested_array_pdf(depth: int = 5000) -> bytes:
    """A page whose MediaBox is an array nested ``depth`` deep: recursive parsers overflow."""
    nested = b"[" * depth + b"0" + b"]" * depth
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox " + nested + b" >>",
    ])  # fmt: skip


def nested_dict_pdf(depth: int = 5000) -> bytes:
    """A catalog holding dictionaries nested ``depth`` deep."""
    nested = b"<< /A " * depth + b"0" + b" >>" * depth
    return pdf([b"<< /Type /Catalog /Pages 2 0 R /Deep " + nested + b" >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def self_referencing_pages_pdf() -> bytes:
    """A page tree whose Pages node lists itself among its kids."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"])


def self_referencing_object_pdf() -> bytes:
    """An object that is a reference to itself, used as the page tree and a page's contents."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources 4 0 R >>",
        b"4 0 R",
    ])  # fmt: skip


def pages_is_not_a_dict_pdf() -> bytes:
    """The catalog's Pages is a number: code expecting a dictionary breaks (AttributeError)."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"42"])


def root_loop_pdf() -> bytes:
    """The trailer's Root is a reference to itself."""
    return pdf([b"1 0 R"])


def truncated_pdf() -> bytes:
    whole = text_page_pdf("Cut short")
    return whole[: len(whole) // 2]
