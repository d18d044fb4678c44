"""Typed records of a batch job: the job, its input files, and the progress figures derived from them.

A job's unit of work is one input file (a PDF, a text file, a JSONL file of many passages): files are
what loaders read and what fails on its own, and their number is known as soon as the inputs are
walked. ``documents`` counts the documents those files held (one per file, or one per JSONL line).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FileStatus = Literal["queued", "running", "done", "failed"]
FINISHED: tuple[JobStatus, ...] = ("done", "failed", "cancelled")


class JobFile(BaseModel):
    """One input file of a job: its state, and why it failed when it did."""

    seq: int = Field(description="Position of the file in the job (sorted discovery order).")
    path: str
    batch: int = Field(description="The batch the file is ingested in (fixed when the job is created).")
    status: FileStatus
    error: str = ""


class JobCounts(BaseModel):
    files_total: int = 0
    files_done: int = 0
    files_failed: int = 0
    documents: int = Field(default=0, description="Documents held by the finished files (new, replaced or unchanged).")
    chunks: int = Field(default=0, description="Chunks this job wrote.")
    entities: int = Field(default=0, description="Entities this job wrote (created or merged).")
    relations: int = Field(default=0, description="Relations this job wrote (created or merged).")
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Job(BaseModel):
    """A named set of inputs ingested into one workspace, with its progress."""

    id: str
    name: str
    workspace: str
    inputs: list[str]
    status: JobStatus
    error: str = Field(default="", description="Why the job itself stopped (a failed file does not fail the job).")
    batch_size: int = Field(description="Files per ingest call.")
    cancel_requested: bool = False
    interrupted: bool = Field(
        default=False, description="Marked running, but no process runs it any more (killed): resume it."
    )
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    elapsed_s: float = Field(default=0.0, description="Seconds spent running, over all runs.")
    eta_s: float | None = Field(default=None, description="Estimated seconds left while running (null when unknown).")
    files_per_s: float | None = None
    counts: JobCounts = Field(default_factory=JobCounts)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def files_left(self) -> int:
        return self.counts.files_total - self.counts.files_done - self.counts.files_failed


class JobDetail(Job):
    """A job with the state of each of its files."""

    files: list[JobFile] = Field(default_factory=list)

    @property
    def failures(self) -> list[JobFile]:
        return [f for f in self.files if f.status == "failed"]
