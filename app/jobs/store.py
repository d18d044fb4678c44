"""Job records in the workspace: ``jobs.sqlite`` (WAL), shared by every process that runs or reads jobs.

Each write sets values rather than adding to them (a batch's figures are one row, replaced when the
batch is redone), so a write repeated after a crash leaves the same record. A batch's outcome (its
files' states and its figures) is one transaction: a job killed mid-batch has that batch either wholly
recorded or not at all. Every statement is a constant with parameters.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.jobs.models import FileStatus, JobCounts, JobFile, JobStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, workspace TEXT NOT NULL, inputs TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', batch_size INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0, runner_pid INTEGER, runner_host TEXT, runner_token TEXT,
    created_at REAL NOT NULL, started_at REAL, run_started_at REAL, finished_at REAL,
    elapsed_s REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_files (
    job_id TEXT NOT NULL, seq INTEGER NOT NULL, path TEXT NOT NULL, batch INTEGER NOT NULL,
    status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', finished_at REAL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS job_batches (
    job_id TEXT NOT NULL, batch INTEGER NOT NULL, documents INTEGER NOT NULL, chunks INTEGER NOT NULL,
    entities INTEGER NOT NULL, relations INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    PRIMARY KEY (job_id, batch)
);
"""
INSERT_JOB = (
    "INSERT INTO jobs (id, name, workspace, inputs, status, batch_size, created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)"
)
INSERT_FILE = "INSERT INTO job_files (job_id, seq, path, batch, status, error) VALUES (?, ?, ?, ?, ?, ?)"
SELECT_JOB = "SELECT * FROM jobs WHERE id = ?"
SELECT_JOBS = "SELECT * FROM jobs ORDER BY created_at DESC, id LIMIT ?"
SELECT_FILES = "SELECT seq, path, batch, status, error FROM job_files WHERE job_id = ? ORDER BY seq"
SELECT_FILES_WITH = "SELECT seq, path, batch, status, error FROM job_files WHERE job_id = ? AND status = ? ORDER BY seq"
SELECT_MAX_BATCH = "SELECT COALESCE(MAX(batch), -1) FROM job_files WHERE job_id = ?"
FILE_COUNTS = (
    "SELECT COUNT(*), COALESCE(SUM(status = 'done'), 0), COALESCE(SUM(status = 'failed'), 0), "
    "COALESCE(SUM(status IN ('done', 'failed') AND finished_at >= ?), 0) FROM job_files WHERE job_id = ?"
)
BATCH_SUMS = (
    "SELECT COALESCE(SUM(documents), 0), COALESCE(SUM(chunks), 0), COALESCE(SUM(entities), 0), "
    "COALESCE(SUM(relations), 0), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) "
    "FROM job_batches WHERE job_id = ?"
)
CLAIM_JOB = (
    "UPDATE jobs SET status = 'running', error = '', cancel_requested = 0, runner_pid = ?, runner_host = ?, "
    "runner_token = ?, started_at = COALESCE(started_at, ?), run_started_at = ?, finished_at = NULL "
    "WHERE id = ? AND runner_token IS ?"
)
FINISH_JOB = (
    "UPDATE jobs SET status = ?, error = ?, finished_at = ?, elapsed_s = elapsed_s + ?, runner_token = NULL "
    "WHERE id = ? AND runner_token = ?"
)
SET_STATUS = "UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?"
REQUEST_CANCEL = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?"
SELECT_CANCEL = "SELECT cancel_requested FROM jobs WHERE id = ?"
SET_FILE = "UPDATE job_files SET status = ?, error = ?, finished_at = ? WHERE job_id = ? AND seq = ?"
MOVE_FILE = (
    "UPDATE job_files SET status = 'queued', error = '', batch = ?, finished_at = NULL WHERE job_id = ? AND seq = ?"
)
UPSERT_BATCH = (
    "INSERT OR REPLACE INTO job_batches (job_id, batch, documents, chunks, entities, relations, prompt_tokens, "
    "completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class FileOutcome:
    seq: int
    status: FileStatus
    error: str = ""


@dataclass(frozen=True)
class BatchFigures:
    documents: int = 0
    chunks: int = 0
    entities: int = 0
    relations: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class JobRow:
    """A job as stored (the runner's claim included); ``Jobs`` turns it into the public ``Job``."""

    id: str
    name: str
    workspace: str
    inputs: list[str]
    status: JobStatus
    error: str
    batch_size: int
    cancel_requested: bool
    runner_pid: int | None
    runner_host: str | None
    runner_token: str | None
    created_at: float
    started_at: float | None
    run_started_at: float | None
    finished_at: float | None
    elapsed_s: float


class JobStore:
    """The job tables of one workspace. Thread-safe; several processes may open the same file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- create ------------------------------------------------------------------------------------
    def create(
        self, job_id: str, name: str, workspace: str, inputs: list[str], batch_size: int, files: list[JobFile]
    ) -> None:
        """The job and all its files in one transaction: a job is never seen half made."""
        with self._transaction() as db:
            db.execute(INSERT_JOB, (job_id, name, workspace, json.dumps(inputs), batch_size, time.time()))
            db.executemany(INSERT_FILE, [(job_id, f.seq, f.path, f.batch, f.status, f.error) for f in files])

    # -- reads -------------------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRow | None:
        rows = self._read(SELECT_JOB, (job_id,))
        return _job_row(rows[0]) if rows else None

    def list_jobs(self, limit: int = 100) -> list[JobRow]:
        return [_job_row(row) for row in self._read(SELECT_JOBS, (limit,))]

    def files(self, job_id: str, status: FileStatus | None = None) -> list[JobFile]:
        rows = self._read(SELECT_FILES_WITH, (job_id, status)) if status else self._read(SELECT_FILES, (job_id,))
        return [JobFile(**dict(row)) for row in rows]

    def counts(self, job_id: str, since: float | None = None) -> tuple[JobCounts, int]:
        """The job's figures, and how many files finished since ``since`` (for the rate and the ETA)."""
        total, done, failed, recent = self._read(FILE_COUNTS, (since or 0.0, job_id))[0]
        documents, chunks, entities, relations, prompt, completion = self._read(BATCH_SUMS, (job_id,))[0]
        counts = JobCounts(
            files_total=total, files_done=done, files_failed=failed, documents=documents, chunks=chunks,
            entities=entities, relations=relations, prompt_tokens=prompt, completion_tokens=completion,
        )  # fmt: skip
        return counts, recent

    def cancel_requested(self, job_id: str) -> bool:
        rows = self._read(SELECT_CANCEL, (job_id,))
        return bool(rows and rows[0][0])

    # -- writes ------------------------------------------------------------------------------------
    def claim(self, job_id: str, pid: int, host: str, token: str, previous_token: str | None) -> bool:
        """Mark the job running under ``token``, only if its claim is still ``previous_token`` (what the
        caller saw): of two processes resuming the same job at once, one wins."""
        now = time.time()
        with self._transaction() as db:
            return db.execute(CLAIM_JOB, (pid, host, token, now, now, job_id, previous_token)).rowcount == 1

    def finish(self, job_id: str, token: str, status: JobStatus, error: str, run_seconds: float) -> None:
        """Close the run that holds ``token`` (a run that lost its claim changes nothing)."""
        with self._transaction() as db:
            db.execute(FINISH_JOB, (status, error, time.time(), run_seconds, job_id, token))

    def set_status(self, job_id: str, status: JobStatus) -> None:
        with self._transaction() as db:
            db.execute(SET_STATUS, (status, time.time() if status != "queued" else None, job_id))

    def request_cancel(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute(REQUEST_CANCEL, (job_id,))

    def mark_files(self, job_id: str, outcomes: Sequence[FileOutcome]) -> None:
        now = time.time()
        with self._transaction() as db:
            db.executemany(SET_FILE, [(o.status, o.error, now, job_id, o.seq) for o in outcomes])

    def record_batch(self, job_id: str, batch: int, outcomes: Sequence[FileOutcome], figures: BatchFigures) -> None:
        """A finished batch: its files' states and its figures, together."""
        now = time.time()
        f = figures
        with self._transaction() as db:
            db.executemany(SET_FILE, [(o.status, o.error, now, job_id, o.seq) for o in outcomes])
            db.execute(
                UPSERT_BATCH,
                (job_id, batch, f.documents, f.chunks, f.entities, f.relations, f.prompt_tokens, f.completion_tokens),
            )

    def requeue_failed(self, job_id: str) -> int:
        """Put the failed files back in the queue, each in a new batch of its own (numbers after every
        existing batch, so the figures of the batches they came from stay); returns how many."""
        with self._transaction() as db:
            failed = db.execute(SELECT_FILES_WITH, (job_id, "failed")).fetchall()
            first = db.execute(SELECT_MAX_BATCH, (job_id,)).fetchone()[0] + 1
            db.executemany(MOVE_FILE, [(first + i, job_id, row["seq"]) for i, row in enumerate(failed)])
        return len(failed)


def _job_row(row: sqlite3.Row) -> JobRow:
    values = dict(row)
    values["inputs"] = json.loads(values["inputs"])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return JobRow(**values)
