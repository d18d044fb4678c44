"""Perplexity (PPL) meta-chunking, after Meta-Chunking (IAAR-Shanghai, 2024).

One causal-LM pass over the document measures how surprising each sentence is given the text
before it (mean token cross-entropy, nats). Two signals, chosen by ``signal``:

- ``"sentence"`` (the paper's PPL chunking): the score of sentence ``i`` is the mean cross-entropy
  of all its tokens; a boundary goes after ``i`` when ``i`` is a local minimum and the drop from a
  neighbour is at least ``threshold`` (plateau to the right handled; optional dynamic threshold).
  Gap strength for merging is the next sentence's score.
- ``"opening"`` (default): the score of a gap is the surprise of the *first* ``opening_tokens``
  tokens of the next sentence. A new topic shows in how a sentence opens (a new name, a new
  subject); the rest of a sentence mostly follows from its own first words, which dilutes the
  paper's whole-sentence mean. Measured on the multihop documents: boundary F1 0.79 vs 0.69 at
  target 100 (docs/bench-chunking.md). Only the opening tokens need the vocabulary projection,
  which makes this signal cheaper too. Boundaries go at the gaps at or above the document's
  ``boundary_percentile`` of that series (70th by default); the weaker gaps stay gaps that merging
  may close first. ``peaks_only`` also requires a local peak (the earlier rule, with the median).
  The 70th percentile of all gaps was chosen on documents of 200 train questions: F1 and recall@5
  both rose at targets 100 and 200 over local peaks above the median (docs/bench-chunking.md).

Long documents are scored in windows of at most ``window`` new tokens, each re-reading up to
``context`` tokens before it, so memory stays flat. The windows are independent, so the LM scores
them in parallel (``CausalLM.workers``); the document is cut into a multiple of that many windows
of equal size so no worker idles on a short last window. Measured on 2 cores: two one-thread
windows at once beat one two-thread forward pass by ~15-30% (docs/bench-chunking.md); 256 + 32
beat 384 + 64; padded batches of windows and a KV cache carried across windows were both slower.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ingest.chunking.lm import CausalLM, load_lm
from ingest.chunking.scored import GapScores, GapScoringChunker
from ingest.sentences import Sentence

Signal = Literal["opening", "sentence"]


def sentence_losses(
    lm: CausalLM,
    sentences: Sequence[str],
    *,
    window: int = 256,
    context: int = 32,
    opening_tokens: int | None = None,
) -> np.ndarray:
    """Mean token cross-entropy (nats) of each sentence conditioned on the preceding sentences;
    with ``opening_tokens``, of each sentence's first ``opening_tokens`` tokens only."""
    ids: list[int] = []
    owners: list[int] = []
    scored: list[bool] = []  # per token: does it count towards its sentence's score
    for index, sentence in enumerate(sentences):
        tokens = lm.token_ids(sentence if index == 0 else " " + sentence)
        ids.extend(tokens)
        owners.extend([index] * len(tokens))
        scored.extend(opening_tokens is None or k < opening_tokens for k in range(len(tokens)))
    windows, positions, picked = [], [], []
    for start, end in window_bounds(len(ids), window, context, lm.workers):
        first = max(0, start - context)
        chosen = [i for i in range(start, end) if scored[i]]
        if not chosen:
            continue
        # A causal LM's loss at a position reads only the tokens before it: the window ends at its last
        # scored token (with opening scores, the rest of the last sentence is never read: ~15% of the work).
        windows.append((ids[first : chosen[-1] + 1], start - first))
        positions.append([i - first for i in chosen])
        picked.extend(chosen)
    losses = lm.token_losses(windows, positions)
    flat = np.concatenate(losses) if losses else np.zeros(0)
    owner_of = np.asarray(owners, dtype=np.int64)[picked] if picked else np.zeros(0, dtype=np.int64)
    totals = np.bincount(owner_of, weights=flat, minlength=len(sentences))
    counts = np.bincount(owner_of, minlength=len(sentences))
    return np.divide(totals, counts, out=np.zeros(len(sentences)), where=counts > 0)


def window_bounds(tokens: int, window: int, context: int, workers: int = 1) -> list[tuple[int, int]]:
    """``[start, end)`` of the new tokens of each window: at most ``window`` long and of equal size.
    A text that needs several windows anyway gets a multiple of ``workers`` of them, unless the
    pieces would be shorter than twice the re-read context; one that fits a window stays whole."""
    if tokens <= 0:
        return []
    count = math.ceil(tokens / window)
    balanced = math.ceil(count / workers) * workers
    if count > 1 and tokens >= balanced * 2 * context:
        count = balanced
    size = math.ceil(tokens / count)
    return [(start, min(start + size, tokens)) for start in range(0, tokens, size)]


def local_minima(scores: Sequence[float], threshold: float) -> list[int]:
    """Indices ``i`` that are local minima with a drop of at least ``threshold`` from a neighbour."""
    minima = []
    for i in range(1, len(scores) - 1):
        left_drop, right_drop = scores[i - 1] - scores[i], scores[i + 1] - scores[i]
        dip = right_drop > 0 and max(left_drop, right_drop) >= threshold
        plateau = right_drop == 0 and left_drop >= threshold  # flat to the right: the left drop decides
        if left_drop > 0 and (dip or plateau):
            minima.append(i)
    return minima


def local_peaks(values: Sequence[float]) -> list[int]:
    """Indices ``i`` higher than the value before and at least the value after (ends count)."""
    last = len(values) - 1
    return [
        i
        for i in range(len(values))
        if (i == 0 or values[i] > values[i - 1]) and (i == last or values[i] >= values[i + 1])
    ]


def strong_gaps(values: Sequence[float], percentile: float, *, peaks_only: bool = False) -> list[bool]:
    """Per index: is it at or above the ``percentile`` of ``values`` (and, with ``peaks_only``, a local peak)."""
    if not values:
        return []
    cutoff = float(np.percentile(values, percentile))
    peaks = set(local_peaks(values)) if peaks_only else set()
    return [value >= cutoff and (not peaks_only or i in peaks) for i, value in enumerate(values)]


def dynamic_threshold(scores: Sequence[float]) -> float:
    """Mean drop at the document's local minima: keeps only the sharper half of the dips."""
    drops = [max(scores[i - 1] - scores[i], scores[i + 1] - scores[i]) for i in local_minima(scores, threshold=0.0)]
    return float(np.mean(drops)) if drops else 0.0


class PerplexityChunker(GapScoringChunker):
    name = "perplexity"

    def __init__(
        self,
        *,
        target_tokens: int = 200,
        max_tokens: int = 400,
        lm: str | CausalLM = "smollm2",
        signal: Signal = "opening",
        opening_tokens: int = 5,
        boundary_percentile: float = 70.0,
        peaks_only: bool = False,
        threshold: float = 0.0,
        dynamic: bool = False,
        window: int = 256,
        context: int = 32,
    ) -> None:
        super().__init__(target_tokens=target_tokens, max_tokens=max_tokens)
        if signal not in ("opening", "sentence"):
            raise ValueError(f"unknown perplexity signal {signal!r} (opening, sentence)")
        if opening_tokens < 1:
            raise ValueError("opening_tokens must be at least 1")
        if not 0.0 <= boundary_percentile <= 100.0:
            raise ValueError("boundary_percentile must lie in [0, 100]")
        self._lm = lm
        self.signal, self.opening_tokens = signal, opening_tokens
        self.boundary_percentile, self.peaks_only = boundary_percentile, peaks_only
        self.threshold, self.dynamic = threshold, dynamic
        self.window, self.context = window, context

    @property
    def lm(self) -> CausalLM:
        """The LM, loaded on first use (and cached per process by ``load_lm``)."""
        if isinstance(self._lm, str):
            self._lm = load_lm(self._lm)
        return self._lm

    def score_gaps(self, sentences: Sequence[Sentence]) -> GapScores:
        opening = self.opening_tokens if self.signal == "opening" else None
        scores = sentence_losses(
            self.lm,
            [s.text for s in sentences],
            window=self.window,
            context=self.context,
            opening_tokens=opening,
        ).tolist()
        strengths = scores[1:]  # gap i is as strong as sentence i+1 is surprising
        if self.signal == "opening":
            return GapScores(strengths, strong_gaps(strengths, self.boundary_percentile, peaks_only=self.peaks_only))
        threshold = dynamic_threshold(scores) if self.dynamic else self.threshold
        boundary_after = set(local_minima(scores, threshold))
        return GapScores(strengths, [i in boundary_after for i in range(len(strengths))])
