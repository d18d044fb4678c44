"""Margin-sampling meta-chunking, after Meta-Chunking (IAAR-Shanghai, 2024).

For each sentence the LM is asked whether it continues the current chunk. With P(keep) and
P(split) the probabilities of the two answers (renormalised over just those two), the margin is
``P(keep) - P(split)``; a boundary goes before the sentence when the margin falls below a threshold:
0 at first, then the mean of the last ``memory`` margins (it adapts to the LM's bias).
One LM call per sentence: several times slower than perplexity chunking, so it is optional.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from ingest.chunking.lm import CausalLM, load_lm
from ingest.chunking.scored import GapScores, GapScoringChunker
from ingest.sentences import Sentence

PROMPT = (
    "<|im_start|>system\nYou segment text into coherent chunks.<|im_end|>\n"
    "<|im_start|>user\nText chunk: {chunk}\nNext sentence: {sentence}\n"
    "Does the next sentence continue the same topic as the text chunk? "
    "Answer 1 if it starts a new topic, 2 if it continues.<|im_end|>\n<|im_start|>assistant\n"
)
SPLIT_ANSWER, KEEP_ANSWER = "1", "2"


class MarginChunker(GapScoringChunker):
    name = "margin"

    def __init__(
        self,
        *,
        target_tokens: int = 200,
        max_tokens: int = 400,
        lm: str | CausalLM = "smollm2",
        context_sentences: int = 3,
        memory: int = 5,
    ) -> None:
        super().__init__(target_tokens=target_tokens, max_tokens=max_tokens)
        self._lm = lm
        self.context_sentences = context_sentences  # the chunk shown to the LM: its last few sentences
        self.memory = memory

    @property
    def lm(self) -> CausalLM:
        if isinstance(self._lm, str):
            self._lm = load_lm(self._lm)
        return self._lm

    def margin(self, chunk: str, sentence: str) -> float:
        """P(keep) - P(split), the two answers renormalised to sum to one."""
        split_lp, keep_lp = self.lm.next_token_logprobs(
            PROMPT.format(chunk=chunk, sentence=sentence), [SPLIT_ANSWER, KEEP_ANSWER]
        )
        keep = 1.0 / (1.0 + math.exp(split_lp - keep_lp))
        return keep - (1.0 - keep)

    def score_gaps(self, sentences: Sequence[Sentence]) -> GapScores:
        strengths: list[float] = []
        boundaries: list[bool] = []
        recent: deque[float] = deque(maxlen=self.memory)
        chunk_start = 0
        for nxt in range(1, len(sentences)):
            shown = sentences[max(chunk_start, nxt - self.context_sentences) : nxt]
            margin = self.margin(" ".join(s.text for s in shown), sentences[nxt].text)
            # The paper's schedule: start at 0 (the LM's own verdict), adapt once memory is full.
            threshold = sum(recent) / len(recent) if len(recent) == self.memory else 0.0
            split = margin < threshold
            recent.append(margin)
            strengths.append(-margin)
            boundaries.append(split)
            if split:
                chunk_start = nxt
        return GapScores(strengths, boundaries)
