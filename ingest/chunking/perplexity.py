"""Perplexity (PPL) meta-chunking, after Meta-Chunking (IAAR-Shanghai, 2024).

One causal-LM pass over the document scores each sentence by the mean cross-entropy of its tokens
given the text before it. A sentence the LM predicts well continues its neighbours; a boundary
goes after sentence ``i`` when ``i`` is a local minimum of that score and the drop from a
neighbour is at least ``threshold`` (a plateau to the right counts when the left drop qualifies).
Gap strength for merging is the jump ``score[i+1] - score[i]``: the next sentence's surprise.

Long documents are scored in windows of ``window`` new tokens, each re-reading up to
``context`` tokens before it, so memory stays flat and windows can be batched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingest.chunking.lm import CausalLM, load_lm
from ingest.chunking.scored import GapScores, GapScoringChunker
from ingest.sentences import Sentence


def sentence_losses(
    lm: CausalLM, sentences: Sequence[str], *, window: int = 384, context: int = 64, batch: int = 4
) -> np.ndarray:
    """Mean token cross-entropy (nats) of each sentence conditioned on the preceding sentences."""
    ids: list[int] = []
    owners: list[int] = []
    for index, sentence in enumerate(sentences):
        tokens = lm.token_ids(sentence if index == 0 else " " + sentence)
        ids.extend(tokens)
        owners.extend([index] * len(tokens))
    windows = []
    for start in range(0, len(ids), window):
        first = max(0, start - context)
        windows.append((ids[first : start + window], start - first))
    losses = [
        loss for begin in range(0, len(windows), batch) for loss in lm.token_losses(windows[begin : begin + batch])
    ]
    flat = np.concatenate(losses) if losses else np.zeros(0)
    totals = np.bincount(owners, weights=flat, minlength=len(sentences))
    counts = np.bincount(owners, minlength=len(sentences))
    return np.divide(totals, counts, out=np.zeros(len(sentences)), where=counts > 0)


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
        threshold: float = 0.0,
        dynamic: bool = False,
        window: int = 384,
        context: int = 64,
    ) -> None:
        super().__init__(target_tokens=target_tokens, max_tokens=max_tokens)
        self._lm = lm
        self.threshold, self.dynamic = threshold, dynamic
        self.window, self.context = window, context

    @property
    def lm(self) -> CausalLM:
        """The LM, loaded on first use (and cached per process by ``load_lm``)."""
        if isinstance(self._lm, str):
            self._lm = load_lm(self._lm)
        return self._lm

    def score_gaps(self, sentences: Sequence[Sentence]) -> GapScores:
        scores = sentence_losses(
            self.lm, [s.text for s in sentences], window=self.window, context=self.context
        ).tolist()
        threshold = dynamic_threshold(scores) if self.dynamic else self.threshold
        boundary_after = set(local_minima(scores, threshold))
        gaps = range(len(scores) - 1)
        return GapScores([scores[i + 1] - scores[i] for i in gaps], [i in boundary_after for i in gaps])
