"""SIGKILL an ``amalgam jobs run`` at two points, resume it, and get exactly the graph of a run that
was never interrupted (same files, same batches: one file, one document each, per batch).

The kills land where the job record says a file has just finished, so the process dies inside the
next batch's ingest (or between batches); each resume redoes only what was not finished.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app.config import load_settings
from app.engine import Engine
from app.jobs import Jobs
from app.jobs.store import JobStore
from tests.graph_snapshot import graph_snapshot

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
REPO = Path(__file__).resolve().parents[2]
FILES = 10


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    for name in ("halvorsen_viaduct.md", "ingrid_solberg.txt", "kestrel_river.html"):
        shutil.copy(SAMPLE / name, folder / name)
    for n in range(FILES - 3):
        (folder / f"note_{n}.txt").write_text(
            f"Ingrid Solberg visited Town {n} on the Kestrel River in {1930 + n}. The Halvorsen Viaduct, near "
            f"Town {n}, was designed by the Solberg bureau; its engineer, Per Aas {n}, later taught in Bergen."
        )
    return folder


def _cli(data: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AMALGAM_DATA_DIR": str(data), "AMALGAM_CHUNKER": "sentence", "PYTHONPATH": str(REPO)}
    env.pop("AMALGAM_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "jobs", *args], env=env, cwd=data.parent,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _finished_files(db: Path) -> tuple[str | None, int]:
    """The job's id and how many of its files finished, read as another process would (None: no job yet)."""
    if not db.exists():
        return None, 0
    store = JobStore(db)
    try:
        jobs = store.list_jobs()
        if not jobs:
            return None, 0
        counts, _ = store.counts(jobs[0].id)
        return jobs[0].id, counts.files_done + counts.files_failed
    finally:
        store.close()


def _kill_when(process: subprocess.Popen[bytes], db: Path, finished: int) -> str:
    """SIGKILL the process once ``finished`` files are recorded as finished; returns the job id."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job_id, done = _finished_files(db)
        if job_id and done >= finished:
            process.send_signal(signal.SIGKILL)
            process.wait()  # reaped: its pid no longer looks alive
            return job_id
        assert process.poll() is None, f"the job ended before the kill: {process.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
        time.sleep(0.02)
    raise AssertionError("the job made no progress")


def _snapshot(data: Path) -> dict[str, object]:
    engine = Engine(load_settings(data_dir=data, chunker="sentence"))
    try:
        return graph_snapshot(engine)
    finally:
        engine.close()


def test_sigkilled_job_resumes_to_the_uninterrupted_graph(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "inbox")

    reference_data = tmp_path / "reference"
    engine = Engine(load_settings(data_dir=reference_data, chunker="sentence"))
    jobs = Jobs(engine)
    try:
        reference = jobs.run(jobs.create([folder], batch_size=1).id)
    finally:
        jobs.close()
        engine.close()
    assert reference.status == "done" and reference.counts.files_done == FILES
    expected = _snapshot(reference_data)

    data = tmp_path / "killed"
    db = data / "default" / "jobs.sqlite"
    job_id = _kill_when(_cli(data, "run", str(folder), "--batch-size", "1"), db, finished=1)
    killed_once = _finished_files(db)[1]
    assert _kill_when(_cli(data, "resume", job_id), db, finished=killed_once + 3) == job_id
    assert _finished_files(db)[1] < FILES, "the second kill came before the end"

    final = _cli(data, "resume", job_id, "--json")
    out, err = final.communicate(timeout=600)
    assert final.returncode == 0, err.decode()[-3000:]

    assert _snapshot(data) == expected
    store = JobStore(db)
    try:
        row = store.get(job_id)
        assert row is not None and row.status == "done"
        assert [f.status for f in store.files(job_id)] == ["done"] * FILES
        counts, _ = store.counts(job_id)
        assert counts.documents == FILES  # each file's documents counted once, however often it was redone
    finally:
        store.close()
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
