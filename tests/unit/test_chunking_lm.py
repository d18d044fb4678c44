"""Perplexity and margin chunking with the real SmolLM2-135M (default backend), loaded once."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import numpy as np
import pytest

from ingest.chunking.lm import CausalLM, load_lm
from ingest.chunking.lm_dtype import choose_dtype
from ingest.chunking.margin import MarginChunker
from ingest.chunking.perplexity import PerplexityChunker, Signal, sentence_losses
from ingest.models import Document
from ingest.sentences import split_sentences

pytestmark = pytest.mark.slow

TOPIC_A = (
    "Jupiter is the fifth planet from the Sun and the largest in the Solar System. "
    "It is a gas giant with a mass more than two and a half times that of all the other planets. "
    "Jupiter has at least ninety-five known moons, the largest of which is Ganymede. "
    "The Great Red Spot on Jupiter is a giant storm that has raged for centuries."
)
TOPIC_B = (
    "Sourdough bread is made by fermenting dough with wild yeast and lactic acid bacteria. "
    "Bakers feed the starter with flour and water every day to keep it active. "
    "The dough is shaped, proofed overnight in the fridge, and baked in a hot Dutch oven. "
    "Steam during the first minutes of baking gives the loaf its crisp crust."
)


@pytest.fixture(scope="module")
def smollm2() -> CausalLM:
    return load_lm("smollm2")


def test_lm_is_loaded_once_per_process(smollm2: CausalLM) -> None:
    assert load_lm("smollm2") is smollm2


def test_a_repeated_sentence_is_much_less_surprising(smollm2: CausalLM) -> None:
    sentence = "Quantum chromodynamics describes the strong interaction between quarks and gluons."
    losses = sentence_losses(smollm2, ["The cat sat on the mat.", sentence, sentence])
    assert np.all(np.isfinite(losses)) and np.all(losses > 0)
    assert losses[2] < 0.5 * losses[1]


def test_windowed_scoring_matches_one_pass_where_context_suffices(smollm2: CausalLM) -> None:
    sentences = [s.text for s in split_sentences(TOPIC_A + " " + TOPIC_B)]
    whole = sentence_losses(smollm2, sentences, window=512, context=0)
    windowed = sentence_losses(smollm2, sentences, window=48, context=48)
    assert windowed.shape == whole.shape
    assert np.corrcoef(whole, windowed)[0, 1] > 0.8


def test_scoring_chosen_positions_matches_scoring_every_token(smollm2: CausalLM) -> None:
    sentences = [s.text for s in split_sentences(TOPIC_A + " " + TOPIC_B)]
    every = sentence_losses(smollm2, sentences, window=48, context=16)
    chosen = sentence_losses(smollm2, sentences, window=48, context=16, opening_tokens=10_000)
    np.testing.assert_allclose(chosen, every, rtol=0.02)
    opening = sentence_losses(smollm2, sentences, window=48, context=16, opening_tokens=3)
    assert not np.allclose(opening, every)


def test_parallel_windows_score_like_one_window_at_a_time(smollm2: CausalLM) -> None:
    ids = smollm2.token_ids(TOPIC_A + " " + TOPIC_B)
    windows = [(ids[max(0, start - 16) : start + 40], min(start, 16)) for start in range(0, len(ids), 40)]
    workers = smollm2.workers
    try:
        smollm2.workers = 1
        serial = smollm2.token_losses(windows)
        smollm2.workers = 2
        parallel = smollm2.token_losses(windows)
    finally:
        smollm2.workers = workers
    assert len(parallel) == len(windows) > 2
    for one, other, (window, score_from) in zip(serial, parallel, windows, strict=True):
        assert len(other) == len(window) - score_from
        np.testing.assert_allclose(other, one, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("signal", ["opening", "sentence"])
def test_perplexity_chunker_cuts_at_the_topic_change(smollm2: CausalLM, signal: Signal) -> None:
    doc = Document.from_text(TOPIC_A + "\n" + TOPIC_B, source="t", title="t")
    chunks = PerplexityChunker(target_tokens=60, max_tokens=120, lm=smollm2, signal=signal).chunk(doc)
    assert len(chunks) >= 2
    change = doc.text.index("Sourdough")
    starts = [c.start for c in chunks]
    sentence_starts = [s.start for s in split_sentences(doc.text)]
    topic_sentence = sentence_starts.index(change)
    # Within one sentence of the true change (the benchmark's tolerance).
    nearby = set(sentence_starts[max(0, topic_sentence - 1) : topic_sentence + 2])
    assert nearby & set(starts)


def test_margin_is_a_probability_difference(smollm2: CausalLM) -> None:
    margin = MarginChunker(lm=smollm2).margin(TOPIC_A, "Ganymede is larger than the planet Mercury.")
    assert -1.0 <= margin <= 1.0


def test_margin_threshold_adapts_to_recent_margins() -> None:
    lm = MagicMock(spec=CausalLM)
    # log P("1" = split), log P("2" = keep): keep, keep, split-ish, keep
    lm.next_token_logprobs.side_effect = [[-3.0, -0.1], [-2.5, -0.2], [-0.5, -1.0], [-3.0, -0.1]]
    sentences = split_sentences("One here. Two here. Three here. Four here. Five here.")
    scores = MarginChunker(lm=lm, memory=5).score_gaps(sentences)
    assert scores.boundaries == [False, False, True, False]
    assert scores.strengths[2] == max(scores.strengths)


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n", encoding="utf-8")
    return path


def test_lm_dtype_is_float32_without_native_bf16_and_never_measured(tmp_path: Path) -> None:
    def never(dtype: str) -> float:
        raise AssertionError("a CPU without bf16 instructions needs no measurement")

    for flags in ("fpu sse2 avx2 fma", "fpu avx2 avx512f"):
        assert choose_dtype(never, cache=tmp_path / "c.json", cpuinfo=_cpuinfo(tmp_path, flags)) == "float32"
    assert choose_dtype(never, cache=tmp_path / "c.json", cpuinfo=tmp_path / "missing") == "float32"
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize(
    ("float32_s", "bfloat16_s", "chosen"),
    [(1.0, 0.5, "bfloat16"), (1.0, 0.9, "float32"), (1.0, 1.5, "float32")],  # bf16 must win by 1.25x
)
def test_lm_dtype_with_native_bf16_is_the_measured_faster_one_and_remembered(
    tmp_path: Path, float32_s: float, bfloat16_s: float, chosen: str
) -> None:
    timed: list[str] = []

    def time_pass(dtype: str) -> float:
        timed.append(dtype)
        return {"float32": float32_s, "bfloat16": bfloat16_s}[dtype]

    cpu, cache = _cpuinfo(tmp_path, "fpu avx2 avx512f avx512_bf16"), tmp_path / "lm" / "choices.json"
    assert choose_dtype(time_pass, cache=cache, cpuinfo=cpu, torch_version="2.9") == chosen
    assert sorted(timed) == ["bfloat16", "float32"]
    assert choose_dtype(time_pass, cache=cache, cpuinfo=cpu, torch_version="2.9") == chosen
    assert len(timed) == 2  # the second load reads the saved choice
    choose_dtype(time_pass, cache=cache, cpuinfo=cpu, torch_version="2.10")
    assert len(timed) == 4  # another torch build is measured again
