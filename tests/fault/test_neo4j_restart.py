"""Neo4j goes down in the middle of a job and comes back: the job stops with a clear error, `resume` finishes
it, and the graph equals that of a job that was never interrupted (nothing lost, nothing duplicated).

The test runs its own throw-away Neo4j (the shared test server must not be stopped), so it needs Java like the
other Neo4j tests; the job runs as `amalgam jobs run` in a subprocess, as a user would run it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import Settings, load_settings
from app.engine import Engine
from app.jobs import Jobs
from tests.fault.test_job_sigkill import FILES, REPO, _corpus, _finished_files
from tests.graph_snapshot import graph_snapshot

pytestmark = pytest.mark.neo4j


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(data: Path, uri: str, workspace: str) -> Settings:
    return load_settings(
        data_dir=data, chunker="sentence", graph_backend="neo4j", neo4j_uri=uri, neo4j_password="unused",
        workspace=workspace,
    )  # fmt: skip


def _snapshot(settings: Settings) -> dict[str, object]:
    engine = Engine(settings)
    try:
        return graph_snapshot(engine)
    finally:
        engine.close()


def _jobs_cli(data: Path, uri: str, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "AMALGAM_DATA_DIR": str(data), "AMALGAM_CHUNKER": "sentence", "PYTHONPATH": str(REPO),
        "AMALGAM_GRAPH_BACKEND": "neo4j", "AMALGAM_NEO4J_URI": uri, "AMALGAM_NEO4J_PASSWORD": "unused",
        "AMALGAM_WORKSPACE": "job",
    }  # fmt: skip
    env.pop("AMALGAM_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "jobs", *args], env=env, cwd=data.parent,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_neo4j_down_mid_job_then_resume_gives_the_uninterrupted_graph(tmp_path: Path) -> None:
    from app import neo4j_local

    folder = _corpus(tmp_path / "inbox")
    home = tmp_path / "neo4j"
    uri, _, _ = neo4j_local.start(home, port=_free_port(), auth=False)
    try:
        reference_settings = _settings(tmp_path / "reference", uri, "reference")
        engine = Engine(reference_settings)
        jobs = Jobs(engine)
        try:
            assert jobs.run(jobs.create([folder], batch_size=1).id).status == "done"
        finally:
            jobs.close()
            engine.close()
        expected = _snapshot(reference_settings)

        data = tmp_path / "interrupted"
        db = data / "job" / "jobs.sqlite"
        running = _jobs_cli(data, uri, "run", str(folder), "--batch-size", "1")
        deadline = time.monotonic() + 300
        while _finished_files(db)[1] < 2:
            assert running.poll() is None and time.monotonic() < deadline, running.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            time.sleep(0.05)
        neo4j_local.stop(home)  # the database goes away in the middle of the job
        _, err = running.communicate(timeout=600)
        assert running.returncode != 0
        assert "Neo4j" in err.decode() and "Traceback" not in err.decode()
        job_id, finished = _finished_files(db)
        assert job_id is not None and 2 <= finished < FILES

        neo4j_local.start(home, port=int(uri.rsplit(":", 1)[1]), auth=False)
        resumed = _jobs_cli(data, uri, "resume", job_id)
        _, err = resumed.communicate(timeout=600)
        assert resumed.returncode == 0, err.decode()[-3000:]
        assert _finished_files(db)[1] == FILES
        assert _snapshot(_settings(data, uri, "job")) == expected
    finally:
        neo4j_local.stop(home)
