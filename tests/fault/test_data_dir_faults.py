"""A data dir that cannot be written: read-only, or full mid-ingest. Each gives one clear error (no
traceback), exit status 1, and leaves an SQLite file whose integrity check passes.

The folders are real file systems (small tmpfs mounts), so the test needs the right to mount, which the
test machines (root) have; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "multihop" / "corpus.jsonl"


def _mount(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for target in (tmp_path / "ro", tmp_path / "full"):
        subprocess.run(["umount", "--lazy", str(target)], capture_output=True)  # lazy: a late reader cannot block it


def _ingest(data_dir: Path, source: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AMALGAM_DATA_DIR": str(data_dir), "AMALGAM_CHUNKER": "sentence", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(["amalgam", "ingest", str(source)], env=env, capture_output=True, text=True, timeout=900)


def test_a_read_only_data_dir_is_a_clear_error(mounts: Path) -> None:
    _mount(mounts / "ro", "ro,size=1m")
    source = mounts / "note.txt"
    source.write_text("Ingrid Solberg was born in Bergen.")
    done = _ingest(mounts / "ro", source)
    assert done.returncode == 1
    assert "Read-only file system" in done.stderr and "Traceback" not in done.stderr


def test_a_full_data_dir_stops_with_a_clear_error_and_a_sound_database(mounts: Path) -> None:
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} is not here")
    _mount(mounts / "full", "size=1m")
    source = mounts / "passages.jsonl"
    with CORPUS.open() as corpus:
        source.write_text("".join(itertools.islice(corpus, 600)))  # far more than 1 MB of graph and indexes
    done = _ingest(mounts / "full", source)
    assert done.returncode == 1
    assert "cannot write to the data dir" in done.stderr and "Traceback" not in done.stderr
    database = mounts / "full" / "default" / "graph.sqlite"
    with closing(sqlite3.connect(database)) as db:  # closed, or the mount stays busy
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        pending, finished = db.execute("SELECT sum(hash = ''), sum(hash != '') FROM documents").fetchone()
    assert (pending or 0) + (finished or 0) > 0  # it got somewhere before the disk filled
