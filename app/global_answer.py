"""Answers from global search: what each picked community contributes, then one answer from those.

With an LLM it is a map-reduce as in GraphRAG's global search: one "map" call per community (its summary
and the evidence chunks it gave, numbered as in the whole answer, so citations keep their numbers), then
one "reduce" call over the partial answers. Offline, each community is one line: its title and the start
of its summary, cited to the evidence it gave. Either way, every citation points at a real chunk.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from app.results import CommunityCited
from retrieval.types import Evidence, RetrievalResult

NOTHING = "NOTHING"
SUMMARY_CHARS = 240


def cited_communities(result: RetrievalResult) -> list[CommunityCited]:
    """Each picked community with the (1-based) numbers of the evidence it gave."""
    number = {item.chunk.id: n for n, item in enumerate(result.evidence, start=1)}
    return [
        CommunityCited(
            id=c.id,
            level=c.level,
            title=c.title,
            summary=c.summary,
            size=c.size,
            sources=sorted(number[chunk_id] for chunk_id in c.chunk_ids if chunk_id in number),
        )
        for c in result.communities
    ]


def _clip(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _marks(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def extractive_global_answer(result: RetrievalResult) -> str:
    lines = [f"{c.title}: {_clip(c.summary)} {_marks(c.sources)}" for c in cited_communities(result) if c.sources]
    return "The documents on this fall into these groups: " + " ".join(lines) if lines else ""


def _evidence_lines(evidence: list[Evidence], numbers: list[int]) -> str:
    return "\n\n".join(f"[{n}] ({evidence[n - 1].title}) {evidence[n - 1].chunk.text.strip()}" for n in numbers)


def _prompt(name: str) -> str:
    return resources.files("app").joinpath(f"prompts/{name}.txt").read_text()


def map_partials(result: RetrievalResult, chat_model: Any) -> list[str]:
    """One partial answer per community that gave evidence and has something to say about the question."""
    template = _prompt("global_map")
    partials = []
    for community in cited_communities(result):
        if not community.sources:
            continue
        prompt = template.format(
            title=community.title,
            summary=community.summary,
            evidence=_evidence_lines(result.evidence, community.sources),
            question=result.question,
        )
        text = str(chat_model.invoke(prompt).content).strip()
        if text and not text.upper().startswith(NOTHING):
            partials.append(text)
    return partials


def reduce_prompt(question: str, partials: list[str]) -> str:
    return _prompt("global_reduce").format(partials="\n\n".join(f"- {p}" for p in partials), question=question)


def llm_global_answer(result: RetrievalResult, chat_model: Any) -> str:
    partials = map_partials(result, chat_model)
    if not partials:
        return ""
    return str(chat_model.invoke(reduce_prompt(result.question, partials)).content).strip()
