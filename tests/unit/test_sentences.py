"""Sentence splitting: offsets, abbreviations, blank lines, CJK, hard maximum, pages."""

from __future__ import annotations

from ingest.models import Document, PageSpan
from ingest.sentences import count_tokens, split_document, split_sentences


def _texts(text: str, **kwargs: int) -> list[str]:
    return [s.text for s in split_sentences(text, **kwargs)]


def test_offsets_point_at_the_sentence_text() -> None:
    text = "  First one here.  Second one? Third!\n"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == ["First one here.", "Second one?", "Third!"]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    text = "Dr. Smith met J. R. R. Tolkien in the U.S. Army. They talked e.g. about Mt. Everest. Done."
    assert _texts(text) == [
        "Dr. Smith met J. R. R. Tolkien in the U.S. Army.",
        "They talked e.g. about Mt. Everest.",
        "Done.",
    ]


def test_lower_case_after_a_period_and_decimals_stay_in_the_sentence() -> None:
    assert _texts("Pi is 3.14 or so. it keeps going. Next Sentence.") == [
        "Pi is 3.14 or so. it keeps going.",
        "Next Sentence.",
    ]


def test_blank_lines_split_text_without_punctuation() -> None:
    assert _texts("a heading\n\nsome words without an end\n \n last part") == [
        "a heading",
        "some words without an end",
        "last part",
    ]


def test_cjk_terminators_split_without_spaces() -> None:
    assert _texts("今天天气很好。我们去公园吧！好的？") == ["今天天气很好。", "我们去公园吧！", "好的？"]


def test_giant_sentence_is_cut_to_the_maximum_and_keeps_every_word() -> None:
    text = " ".join(f"word{i}" for i in range(1000))
    sentences = split_sentences(text, max_tokens=50)
    assert all(count_tokens(s.text) <= 50 for s in sentences)
    assert " ".join(s.text for s in sentences) == text


def test_a_single_huge_token_is_cut_too() -> None:
    text = "x" * 10_000
    sentences = split_sentences(text, max_tokens=40)
    assert all(count_tokens(s.text) <= 40 for s in sentences)
    assert "".join(s.text for s in sentences) == text


def test_empty_and_blank_text_give_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []


def test_count_tokens() -> None:
    assert count_tokens("") == 0
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("今天天气") == 4
    assert count_tokens("y" * 60) == 10  # one run without separators still costs one token per 6 chars


def test_split_document_gives_each_sentence_its_page() -> None:
    text = "Page one text. Still page one. Page two starts. And ends."
    second = text.index("Page two")
    doc = Document.from_text(
        text,
        source="t.pdf",
        title="t",
        pages=[PageSpan(page=1, start=0, end=second), PageSpan(page=2, start=second, end=len(text))],
    )
    assert [s.page for s in split_document(doc)] == [1, 1, 2, 2]
    assert all(s.page is None for s in split_document(Document.from_text(text, source="t", title="t")))


def test_long_runs_of_terminators_split_and_keep_every_character() -> None:
    # A line of 200k dots was quadratic in the terminator regex (minutes); now it is linear.
    for text in ("." * 200_000, "!" * 100_000 + " Next one.", "。" * 100_000):
        sentences = split_sentences(text, max_tokens=400)
        assert all(count_tokens(s.text) <= 400 for s in sentences)
        assert "".join(s.text for s in sentences).replace(" ", "") == text.replace(" ", "")


def test_exceeds_tokens_agrees_with_count_tokens() -> None:
    from ingest.sentences import exceeds_tokens

    for text in ("", "a b c", "x" * 600, "x" * 601, "word " * 300, "今天" * 100):
        for limit in (1, 3, 100, 200, 400):
            assert exceeds_tokens(text, limit) == (count_tokens(text) > limit), (text[:20], limit)


def test_gap_scoring_works_in_bounded_sections_and_scores_every_gap_once() -> None:
    from collections.abc import Sequence

    from ingest.chunking import scored
    from ingest.chunking.scored import GapScores, GapScoringChunker
    from ingest.sentences import Sentence

    seen: list[int] = []

    class Recording(GapScoringChunker):
        name = "recording"

        def score_gaps(self, sentences: Sequence[Sentence]) -> GapScores:
            seen.append(len(sentences))
            gaps = len(sentences) - 1
            return GapScores([float(s.start) for s in sentences[1:]], [False] * gaps)

    text = " ".join(f"Sentence number {i} ends here." for i in range(2 * scored.SECTION_SENTENCES + 10))
    sentences = split_sentences(text)
    runs = Recording(target_tokens=50, max_tokens=100).sentence_runs(sentences)
    assert max(seen) == scored.SECTION_SENTENCES + 1 and sum(n - 1 for n in seen) == len(sentences) - 1
    assert runs[0][0] == 0 and runs[-1][1] == len(sentences) - 1
    assert all(b[0] == a[1] + 1 for a, b in zip(runs, runs[1:], strict=False))
