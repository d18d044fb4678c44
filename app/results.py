"""Result types of the core (``Engine``, ``Answerer``). The REST schemas in ``app.api.schemas`` are built
from these; the core never imports the API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Source(BaseModel):
    """One cited piece of evidence: where it comes from and how strongly it was retrieved."""

    doc_id: str
    chunk_id: str
    title: str
    source: str = ""
    page: int | None = Field(default=None, description="First page of the chunk (1-based), null without pages.")
    pages: list[int] = Field(default_factory=list, description="Every page the chunk spans.")
    text: str
    score: float


class CommunityCited(BaseModel):
    """A community global search answered from: its summary and the sources it gave (1-based numbers)."""

    id: str
    level: int
    title: str
    summary: str
    size: int = 0
    sources: list[int] = Field(default_factory=list, description="Numbers of the cited sources it gave.")


class Route(BaseModel):
    """Which expert LLM answered and why (``app/experts``): the router's scores and its reason."""

    expert: str
    router: str
    scores: dict[str, float] = Field(default_factory=dict, description="Each candidate expert's score (0-1).")
    confidence: float = 0.0
    reason: str = ""
    notes: list[str] = Field(default_factory=list, description="Fallbacks and trims on the way to the answer.")


class Answer(BaseModel):
    """A cited answer to one question: what the engine returns to the CLI, the API and jobs."""

    question: str
    answer: str
    mode: str
    sources: list[Source] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    generated_by: str = Field(default="extractive", description="'extractive' or the LLM model name.")
    communities: list[CommunityCited] = Field(
        default_factory=list, description="Global search: the communities the answer sums up."
    )
    route: Route | None = Field(default=None, description="With AMALGAM_EXPERTS on: the expert and why.")


class DocumentSummary(BaseModel):
    """One ingested document as listed to users."""

    id: str
    title: str
    source: str
    hash: str
    pages: int = 0
    status: str = Field(
        default="ready", description="'ready', or 'pending' while an ingest writes it (or was interrupted)."
    )
