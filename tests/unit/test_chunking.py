"""Chunkers and the registry: chunk invariants, bad input, fallbacks, the CLI command."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from unittest.mock import MagicMock

import pytest
import typer
from typer.testing import CliRunner

from app.cli_chunk import chunk_command
from app.errors import MissingExtraError, UnknownComponentError
from ingest.chunking.base import Chunker
from ingest.chunking.fixed import FixedChunker
from ingest.chunking.lm import CausalLM, LlamaCppLM
from ingest.chunking.perplexity import PerplexityChunker, dynamic_threshold, local_minima
from ingest.chunking.registry import CHUNKER_NAMES, build_chunker
from ingest.chunking.semantic import SemanticChunker
from ingest.chunking.sentence import SentenceWindowChunker
from ingest.models import Document, PageSpan
from ingest.sentences import count_tokens

ASTRONOMY = (
    "Jupiter is the fifth planet from the Sun and the largest in the Solar System. "
    "It is a gas giant with a mass more than two and a half times that of all the other planets. "
    "Jupiter has at least ninety-five known moons, the largest of which is Ganymede. "
    "The Great Red Spot is a giant storm that has raged on the planet for centuries. "
)
COOKING = (
    "To bake sourdough bread, first feed the starter with flour and water. "
    "Mix the starter into the dough and let it rest for an hour before folding. "
    "Shape the loaf, proof it overnight in the fridge, and bake it in a hot Dutch oven. "
    "A good crust needs steam during the first twenty minutes of baking. "
)


def _doc(text: str, pages: list[PageSpan] | None = None) -> Document:
    return Document.from_text(text, source="test.txt", title="test", pages=pages)


def assert_valid_chunks(doc: Document, chunker: Chunker, maximum: int) -> None:
    chunks = chunker.chunk(doc)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start : chunk.end] and chunk.text.strip()
        assert chunk.doc_id == doc.id and chunk.chunker == chunker.name
        assert count_tokens(chunk.text) <= maximum
    assert all(a.start < b.start for a, b in zip(chunks, chunks[1:], strict=False))


# -- bad input, every chunker ------------------------------------------------------------------

BAD_INPUTS = {
    "giant_sentence": " ".join(f"token{i}" for i in range(3000)),
    "no_punctuation": "\n".join("line of words without any end mark here" for _ in range(200)),
    "chinese": "今天天气很好。我们去公园散步吧！" * 200,
    "one_huge_token": "z" * 30_000,
    "many_short": "Yes. " * 800,
}


@pytest.fixture(scope="module")
def cheap_chunkers(embedder: object) -> list[Chunker]:
    return [
        FixedChunker(target_tokens=64),
        SentenceWindowChunker(target_tokens=64, max_tokens=128),
        SemanticChunker(embedder, target_tokens=64, max_tokens=128),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_chunks_within_the_maximum(name: str, cheap_chunkers: list[Chunker]) -> None:
    for chunker in cheap_chunkers:
        assert_valid_chunks(_doc(BAD_INPUTS[name]), chunker, maximum=128)


def test_empty_documents_give_no_chunks(cheap_chunkers: list[Chunker]) -> None:
    for chunker in cheap_chunkers:
        assert chunker.chunk(_doc("")) == []
        assert chunker.chunk(_doc("  \n\t")) == []


def test_short_document_is_one_chunk_without_running_the_lm() -> None:
    lm = MagicMock(spec=CausalLM)
    chunker = PerplexityChunker(target_tokens=200, max_tokens=400, lm=lm)
    [chunk] = chunker.chunk(_doc("  " + ASTRONOMY + "\n"))
    assert chunk.text == ASTRONOMY.strip() and chunk.chunker == "perplexity"
    lm.token_ids.assert_not_called()
    lm.token_losses.assert_not_called()


def test_an_lm_failure_does_not_fail_the_document(caplog: pytest.LogCaptureFixture) -> None:
    lm = MagicMock(spec=CausalLM)
    lm.token_ids.side_effect = RuntimeError("llama context lost")
    chunker = PerplexityChunker(target_tokens=40, max_tokens=80, lm=lm)
    doc = _doc(ASTRONOMY + COOKING)
    with caplog.at_level(logging.ERROR):
        assert_valid_chunks(doc, chunker, maximum=80)
    assert "failed to score" in caplog.text


# -- fixed and sentence windows -------------------------------------------------------------------


def test_fixed_windows_overlap_and_cover_the_text() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    chunks = FixedChunker(target_tokens=30, overlap_tokens=5).chunk(_doc(text))
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for left, right in zip(chunks, chunks[1:], strict=False):
        assert right.start < left.end  # overlap
        assert len(set(left.text.split()) & set(right.text.split())) == 5


def test_chunks_keep_their_pages() -> None:
    text = ASTRONOMY + COOKING
    split = len(ASTRONOMY)
    pages = [PageSpan(page=1, start=0, end=split), PageSpan(page=2, start=split, end=len(text))]
    chunks = SentenceWindowChunker(target_tokens=40, max_tokens=80).chunk(_doc(text, pages))
    assert chunks[0].pages == [1] and chunks[-1].pages == [2]


# -- perplexity boundary logic ----------------------------------------------------------------------


def test_local_minima_with_threshold_and_plateau() -> None:
    scores = [3.0, 1.0, 2.5, 2.4, 2.4, 3.0, 2.9, 3.0]
    assert local_minima(scores, threshold=0.0) == [1, 3, 6]
    assert local_minima(scores, threshold=0.5) == [1]
    assert local_minima([1.0, 2.0], threshold=0.0) == []
    assert dynamic_threshold(scores) == pytest.approx((2.0 + 0.1 + 0.1) / 3)


# -- registry ---------------------------------------------------------------------------------------


def test_registry_names_and_unknown_name() -> None:
    assert set(CHUNKER_NAMES) == {"fixed", "sentence", "semantic", "perplexity", "margin"}
    with pytest.raises(UnknownComponentError, match="unknown chunker 'nope'"):
        build_chunker("nope")


def test_semantic_without_embedder_falls_back_to_fixed(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert isinstance(build_chunker("semantic"), FixedChunker)
    assert "needs an embedder" in caplog.text


def test_perplexity_falls_back_to_semantic_when_its_lm_cannot_load(
    embedder: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        chunker = build_chunker("perplexity", lm="/no/such/model.gguf", embedder=embedder)  # type: ignore[arg-type]
    assert isinstance(chunker, SemanticChunker)
    assert "falling back to semantic" in caplog.text


def test_llamacpp_backend_names_its_extra_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now raises ImportError
    with pytest.raises(MissingExtraError, match=r"amalgam\[llamacpp\]"):
        LlamaCppLM(Path("unused.gguf"))


# -- the CLI command --------------------------------------------------------------------------------


def test_chunk_command_prints_offsets_as_json(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text(ASTRONOMY * 3 + COOKING * 3, encoding="utf-8")
    cli = typer.Typer()
    cli.command()(chunk_command)
    result = CliRunner().invoke(cli, [str(source), "--chunker", "sentence", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) > 1 and all(row["chunker"] == "sentence" for row in rows)
    text = source.read_text(encoding="utf-8")
    assert all(text[row["start"] : row["end"]] == row["text"] for row in rows)


def test_chunk_command_reports_an_unknown_chunker(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text(ASTRONOMY, encoding="utf-8")
    cli = typer.Typer()
    cli.command()(chunk_command)
    result = CliRunner().invoke(cli, [str(source), "--chunker", "nope"])
    assert result.exit_code == 1
    assert "unknown chunker" in result.output
