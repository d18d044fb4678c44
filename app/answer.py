"""Turn retrieved evidence into a cited answer.

Offline (no LLM configured) the answer is extractive: the evidence sentences that best match the
question, each followed by its citation. With an LLM the answer is generated from the same evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

import numpy as np

from app.global_answer import (
    cited_communities,
    extractive_global_answer,
    llm_global_answer,
    map_partials,
    reduce_prompt,
)
from app.results import Answer, Source
from ingest.embedder import Embedder
from ingest.stopwords import STOPWORDS
from retrieval.types import Evidence, RetrievalResult

# How much a sentence's evidence rank (1/(rank+1)) adds to its cosine with the question: enough to break
# near-ties towards the better-ranked chunk, too little to prefer a weak sentence of chunk 1 over a strong
# one of chunk 3 (the cosines of relevant sentences differ by ~0.1-0.3).
RANK_PRIOR = 0.2
NO_EVIDENCE = "I could not find anything about that in the ingested documents."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_WORD = re.compile(r"[a-z0-9]+")


def to_sources(evidence: Sequence[Evidence]) -> list[Source]:
    return [
        Source(
            doc_id=e.chunk.doc_id,
            chunk_id=e.chunk.id,
            title=e.title,
            source=e.source,
            page=e.chunk.page,
            pages=e.chunk.pages,
            text=e.chunk.text,
            score=round(e.score, 6),
        )
        for e in evidence
    ]


def _stem(word: str) -> str:
    """A crude stem, enough to match "designer" with "designed" and "born" with "born"."""
    return word[:6] if len(word) > 6 else word


def _keywords(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def _names(sentence: str) -> set[str]:
    """Keywords of the capitalised words after the first (proper names, roughly)."""
    words = sentence.split()[1:]
    return _keywords(" ".join(w for w in words if w[:1].isupper()))


def candidate_sentences(evidence: Sequence[Evidence]) -> list[tuple[int, str]]:
    """(evidence number, sentence) for every sentence of the evidence, numbers starting at 1."""
    return [
        (number, sentence.strip())
        for number, item in enumerate(evidence, start=1)
        for paragraph in _paragraphs(item.chunk.text)
        for sentence in _SENTENCE_END.split(paragraph)
        if len(sentence.split()) >= 4  # a title or fragment is not an answer
    ]


def _paragraphs(text: str) -> list[str]:
    """Paragraphs with hard line wraps undone and heading lines dropped (a title is not an answer)."""
    return [
        " ".join(line.strip() for line in block.splitlines() if not _HEADING.match(line))
        for block in re.split(r"\n\s*\n", text)
    ]


def extractive_answer(question: str, evidence: Sequence[Evidence], embedder: Embedder, max_sentences: int = 3) -> str:
    """Evidence sentences chosen greedily: semantic similarity to the question, plus the share of the
    wanted keywords a sentence adds to those already covered. Names a chosen sentence introduces become
    wanted too (the bridge of a two-hop question: "designed by Ingrid Solberg" → "Solberg was born in
    Bergen"), so each hop gets its sentence; the rank of the evidence breaks ties."""
    candidates = candidate_sentences(evidence)
    if not candidates:
        return NO_EVIDENCE
    vectors = embedder.embed([question] + [s for _, s in candidates])
    base = vectors[1:] @ vectors[0] + RANK_PRIOR * np.array([1.0 / (number + 1) for number, _ in candidates])
    keywords = [_keywords(s) for _, s in candidates]
    asked = _keywords(question)
    uncovered = set(asked)
    total = len(asked) or 1
    chosen: list[int] = []
    for _ in range(min(max_sentences, len(candidates))):
        gain = np.array([len(uncovered & words) / total for words in keywords])
        scores = base + gain
        scores[chosen] = -np.inf
        best = int(np.argmax(scores))
        if chosen and gain[best] == 0:
            break  # it would add nothing the question (or a bridge name) asks for
        chosen.append(best)
        uncovered = (uncovered - keywords[best]) | (_names(candidates[best][1]) - asked)
    return " ".join(f"{candidates[i][1]} [{candidates[i][0]}]" for i in sorted(chosen))


def evidence_block(evidence: Sequence[Evidence]) -> str:
    lines = []
    for number, item in enumerate(evidence, start=1):
        page = f", page {item.chunk.page}" if item.chunk.page else ""
        lines.append(f"[{number}] ({item.title}{page}) {item.chunk.text.strip()}")
    return "\n\n".join(lines)


def answer_prompt(question: str, evidence: Sequence[Evidence]) -> str:
    template = resources.files("app").joinpath("prompts/answer.txt").read_text()
    return template.format(evidence=evidence_block(evidence), question=question)


class Answerer:
    """Answers a question from a retrieval result, extractively or with a LangChain chat model."""

    def __init__(self, embedder: Embedder, chat_model: Any = None) -> None:
        self.embedder = embedder
        self.chat_model = chat_model

    @property
    def generated_by(self) -> str:
        if self.chat_model is None:
            return "extractive"
        return str(getattr(self.chat_model, "model_name", None) or getattr(self.chat_model, "model", "llm"))

    def answer(self, result: RetrievalResult) -> Answer:
        if not result.evidence:
            text = NO_EVIDENCE
        elif result.communities:
            text = self._global_answer(result)
        elif self.chat_model is None:
            text = extractive_answer(result.question, result.evidence, self.embedder)
        else:
            text = str(self.chat_model.invoke(answer_prompt(result.question, result.evidence)).content).strip()
        return self._response(result, text)

    def _global_answer(self, result: RetrievalResult) -> str:
        """Map-reduce over the communities with an LLM (``app/global_answer.py``), else one line per
        community; the evidence's own answer when that says nothing."""
        if self.chat_model is not None:
            text = llm_global_answer(result, self.chat_model)
            if text:
                return text
            return str(self.chat_model.invoke(answer_prompt(result.question, result.evidence)).content).strip()
        return extractive_global_answer(result) or extractive_answer(result.question, result.evidence, self.embedder)

    def stream(self, result: RetrievalResult) -> Iterator[str]:
        """Answer text piece by piece: tokens from an LLM, or the extractive answer in one piece."""
        if self.chat_model is None or not result.evidence:
            yield self.answer(result).answer
            return
        if result.communities:
            partials = map_partials(result, self.chat_model)  # the map calls first, then the reduce streams
            if partials:
                for chunk in self.chat_model.stream(reduce_prompt(result.question, partials)):
                    yield str(chunk.content)
                return
        for chunk in self.chat_model.stream(answer_prompt(result.question, result.evidence)):
            yield str(chunk.content)

    def _response(self, result: RetrievalResult, text: str) -> Answer:
        return Answer(
            question=result.question,
            answer=text,
            mode=result.mode,
            sources=to_sources(result.evidence),
            entities=result.entities,
            notes=result.notes,
            generated_by=self.generated_by,
            communities=cited_communities(result),
        )
