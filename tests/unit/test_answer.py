from __future__ import annotations

from app.answer import NO_EVIDENCE, Answerer, answer_prompt, candidate_sentences, extractive_answer
from ingest.models import Chunk, Document, PageSpan
from retrieval.types import Evidence, RetrievalResult


def _evidence(text: str, title: str, pages: list[PageSpan] | None = None) -> Evidence:
    doc = Document.from_text(text, source=f"{title}.txt", title=title, pages=pages)
    return Evidence(chunk=Chunk.from_span(doc, 0, 0, len(text), "test"), title=title, score=1.0)


def test_candidate_sentences_undo_line_wraps_and_skip_headings() -> None:
    evidence = [_evidence("# Title\n\nThe bridge crosses the river near\nthe town. It opened in 1931.", "a")]
    assert candidate_sentences(evidence) == [
        (1, "The bridge crosses the river near the town."),
        (1, "It opened in 1931."),
    ]


def test_extractive_answer_picks_the_answering_sentence_and_cites_it(embedder) -> None:  # type: ignore[no-untyped-def]
    evidence = [
        _evidence("The viaduct is 412 metres long. It carries two tracks.", "viaduct"),
        _evidence("Solberg studied in Trondheim. Solberg was born in the harbour city of Bergen.", "solberg"),
    ]
    answer = extractive_answer("Where was Solberg born?", evidence, embedder, max_sentences=1)
    assert answer == "Solberg was born in the harbour city of Bergen. [2]"


def test_no_evidence_says_so_and_cites_nothing(embedder) -> None:  # type: ignore[no-untyped-def]
    response = Answerer(embedder).answer(RetrievalResult(question="anything?", mode="dense"))
    assert response.answer == NO_EVIDENCE and response.sources == []


def test_sources_carry_page_and_prompt_numbers_evidence(embedder) -> None:  # type: ignore[no-untyped-def]
    text = "Page one text. " * 3 + "Joints cost 3.1 million crowns."
    item = _evidence(text, "report", pages=[PageSpan(page=2, start=0, end=len(text))])
    response = Answerer(embedder).answer(
        RetrievalResult(question="What did the joints cost?", mode="dense", evidence=[item])
    )
    assert response.sources[0].page == 2 and response.generated_by == "extractive"
    assert "3.1 million" in response.answer
    assert "[1] (report, page 2)" in answer_prompt("q?", [item])


def test_two_hop_answer_follows_the_bridge_name(embedder) -> None:  # type: ignore[no-untyped-def]
    evidence = [
        _evidence(
            "The Halvorsen Viaduct crosses the Kestrel River. It was designed by the engineer Ingrid Solberg.",
            "viaduct",
        ),
        _evidence("Ingrid Solberg was a civil engineer. Solberg was born in the harbour city of Bergen.", "solberg"),
    ]
    answer = extractive_answer("Where was the designer of the Halvorsen Viaduct born?", evidence, embedder)
    assert "Bergen" in answer and "[2]" in answer


def test_sentences_adding_nothing_asked_are_left_out(embedder) -> None:  # type: ignore[no-untyped-def]
    evidence = [_evidence("Mercury is a chemical element with the symbol Hg. A year on Mercury lasts 88 days.", "m")]
    answer = extractive_answer("What is the chemical symbol of mercury?", evidence, embedder)
    assert answer == "Mercury is a chemical element with the symbol Hg. [1]"
