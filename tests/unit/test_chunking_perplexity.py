"""Perplexity chunking signals with a deterministic stand-in LM (the real model: test_chunking_lm.py).

The stand-in's "cross-entropy" of a token is its id and a word's id is its length, so every
expected score can be worked out by hand from the words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from ingest.chunking.lm import _scored_positions
from ingest.chunking.perplexity import PerplexityChunker, local_peaks, sentence_losses, strong_gaps, window_bounds
from ingest.sentences import split_sentences


class WordLengthLM:
    """One token per word (id = word length); the loss of a token is its id."""

    name = "word-length"
    workers = 1

    def __init__(self) -> None:
        self.scored_tokens = 0
        self.unread_tails: list[int] = []  # per window: tokens after its last scored one

    def token_ids(self, text: str) -> list[int]:
        return [len(word) for word in text.split()]

    def token_losses(
        self, windows: Sequence[tuple[Sequence[int], int]], positions: Sequence[Sequence[int]] | None = None
    ) -> list[np.ndarray]:
        picked = _scored_positions(windows, positions)
        self.scored_tokens += sum(map(len, picked))
        self.unread_tails.extend(
            len(ids) - 1 - max(pos, default=-1) for (ids, _), pos in zip(windows, picked, strict=True)
        )
        return [np.asarray([ids[p] for p in pos], dtype=float) for (ids, _), pos in zip(windows, picked, strict=True)]

    def next_token_logprobs(self, prompt: str, candidates: Sequence[str]) -> list[float]:
        raise NotImplementedError


SENTENCES = ["aaa b cc", "dddd e", "f gg hhhhh iii", "jj"]


@pytest.mark.parametrize(("window", "context"), [(512, 0), (3, 2), (2, 0), (5, 1)])
def test_sentence_losses_are_per_sentence_means_across_windows(window: int, context: int) -> None:
    lm = WordLengthLM()
    whole = sentence_losses(lm, SENTENCES, window=window, context=context)
    np.testing.assert_allclose(whole, [2.0, 2.5, 11 / 4, 2.0])
    opening = sentence_losses(lm, SENTENCES, window=window, context=context, opening_tokens=2)
    np.testing.assert_allclose(opening, [2.0, 2.5, 1.5, 2.0])


def test_opening_scores_only_the_opening_tokens() -> None:
    lm = WordLengthLM()
    sentence_losses(lm, SENTENCES, window=3, context=2, opening_tokens=1)
    assert lm.scored_tokens == len(SENTENCES)  # context tokens and sentence tails are never scored


@pytest.mark.parametrize(("window", "context"), [(3, 2), (2, 0), (5, 1)])
def test_the_lm_reads_no_token_after_a_windows_last_scored_one(window: int, context: int) -> None:
    lm = WordLengthLM()
    sentence_losses(lm, SENTENCES, window=window, context=context, opening_tokens=1)
    assert lm.unread_tails and set(lm.unread_tails) == {0}  # and no window without a scored token is read


def test_local_peaks_count_the_ends_and_plateaus_once() -> None:
    assert local_peaks([1.0, 3.0, 2.0, 2.0, 5.0, 5.0, 1.0]) == [1, 4]
    assert local_peaks([4.0, 1.0, 2.0]) == [0, 2]
    assert local_peaks([]) == []


def test_opening_signal_cuts_where_a_sentence_opens_surprisingly() -> None:
    # Gap strength = the length of the next sentence's first word: the long ones open new topics.
    text = "Ab cd. Cc dd. Eeeeeeeeee ff. Gg hh. Ii jj. Kkkkkkkkkk ll. Mm nn."
    sentences = split_sentences(text)  # 3 size tokens each: phase 1 fills up to 9, so 3 sentences
    chunker = PerplexityChunker(target_tokens=4, max_tokens=9, lm=WordLengthLM(), opening_tokens=1)
    scores = chunker.score_gaps(sentences)
    assert scores.strengths == [2.0, 10.0, 2.0, 2.0, 10.0, 2.0]
    assert [i for i, b in enumerate(scores.boundaries) if b] == [1, 4]
    runs = chunker.sentence_runs(sentences)
    assert [first for first, _ in runs][1:] == [2, 5]


def test_boundaries_are_the_documents_strongest_gaps() -> None:
    strengths = [1.0, 3.0, 1.0, 1.5, 1.0, 4.0, 2.0, 2.0]  # peaks at 1, 3 and 5; median 1.75, 70th pct 2.0
    assert [i for i, b in enumerate(strong_gaps(strengths, 70.0)) if b] == [1, 5, 6, 7]
    assert [i for i, b in enumerate(strong_gaps(strengths, 50.0, peaks_only=True)) if b] == [1, 5]
    assert [i for i, b in enumerate(strong_gaps(strengths, 0.0, peaks_only=True)) if b] == local_peaks(strengths)
    assert strong_gaps([], 50.0) == []


def test_sentence_signal_is_the_papers_local_minima() -> None:
    sentences = split_sentences("Aaaa bbbb. Cc dd. Eeee ffff. Gg hh. Iiii jjjj.")  # 4.5 2.5 4.5 2.5 4.5
    scores = PerplexityChunker(lm=WordLengthLM(), signal="sentence").score_gaps(sentences)
    assert scores.boundaries == [False, True, False, True]  # after the two cheap sentences
    assert scores.strengths == [2.5, 4.5, 2.5, 4.5]  # the next sentence's surprise


def test_bad_settings_and_positions_are_refused() -> None:
    with pytest.raises(ValueError, match="signal"):
        PerplexityChunker(signal="margin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="opening_tokens"):
        PerplexityChunker(opening_tokens=0)
    with pytest.raises(ValueError, match="boundary_percentile"):
        PerplexityChunker(boundary_percentile=101.0)
    with pytest.raises(ValueError, match="outside"):
        _scored_positions([([1, 2], 0)], [[2]])


@pytest.mark.parametrize(
    ("tokens", "window", "workers"), [(1000, 256, 2), (1000, 256, 1), (300, 256, 2), (513, 256, 3), (200, 256, 1)]
)
def test_windows_cover_the_text_in_equal_pieces_for_the_workers(tokens: int, window: int, workers: int) -> None:
    bounds = window_bounds(tokens, window, context=32, workers=workers)
    assert bounds[0][0] == 0 and bounds[-1][1] == tokens
    assert all(end == start for (_, end), (start, _) in zip(bounds, bounds[1:], strict=False))
    sizes = [end - start for start, end in bounds]
    assert max(sizes) <= window and max(sizes) - min(sizes) <= 1
    assert len(bounds) % workers == 0


def test_a_text_that_fits_one_window_is_scored_whole() -> None:
    assert window_bounds(200, 256, context=32, workers=2) == [(0, 200)]  # no split just for the workers
    assert window_bounds(300, 256, context=100, workers=4) == [(0, 150), (150, 300)]  # 4 pieces too short
    assert window_bounds(0, 256, context=32, workers=2) == []
