"""Run the local Neo4j server of ``docker/neo4j-local`` (jars from Maven Central, no Docker).

Thin wrappers over start.sh / stop.sh / status.sh so that ``amalgam neo4j start|stop|status`` and
the test fixtures drive one implementation. Defaults match ``Settings``: Bolt on 127.0.0.1:7687,
user ``neo4j``, the generated password stored in ``<home>/password``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.errors import ConfigError, StoreUnavailableError

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "docker" / "neo4j-local"
DEFAULT_PORT = 7687
USER = "neo4j"


def _run(script: str, home: Path, extra_env: dict[str, str] | None = None, timeout_s: float = 300.0) -> str:
    path = SCRIPTS_DIR / script
    if not path.exists():
        raise ConfigError(f"{path} not found; the local Neo4j scripts ship with the source checkout")
    env = {**os.environ, "NEO4J_HOME": str(home), "PYTHON": sys.executable, **(extra_env or {})}
    try:
        done = subprocess.run(
            ["bash", str(path)], env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise StoreUnavailableError(f"{script} did not finish within {timeout_s:.0f}s") from exc
    output = (done.stdout + done.stderr).strip()
    # status.sh exits 3 for "not running", which is an answer, not a failure.
    if done.returncode != 0 and not (script == "status.sh" and done.returncode == 3):
        raise StoreUnavailableError(f"{script} failed (exit {done.returncode}): {output[-2000:]}")
    return output


def start(home: Path, port: int = DEFAULT_PORT, auth: bool = True, wait_s: float = 120.0) -> tuple[str, str, str]:
    """Start (or find running) the server under ``home``; return ``(uri, user, password)``."""
    _run(
        "start.sh",
        home,
        {
            "NEO4J_BOLT_PORT": str(port),
            "NEO4J_AUTH": "on" if auth else "off",
            "NEO4J_WAIT_S": str(int(wait_s)),
        },
        timeout_s=wait_s + 180.0,  # room for the first Maven download of the jars
    )
    password_file = home / "password"
    password = password_file.read_text().strip() if auth and password_file.exists() else ""
    return f"bolt://{_listen_address(home) or f'127.0.0.1:{port}'}", USER, password


def _listen_address(home: Path) -> str:
    """The Bolt address the running server was configured with (it may predate this call's port)."""
    conf = home / "conf" / "neo4j.conf"
    if not conf.exists():
        return ""
    for line in conf.read_text().splitlines():
        if line.startswith("server.bolt.listen_address="):
            return line.split("=", 1)[1].strip()
    return ""


def stop(home: Path) -> str:
    """Stop the server under ``home`` (SIGTERM, wait); a no-op when it is not running."""
    return _run("stop.sh", home)


def status(home: Path) -> str:
    """One line: running (pid, Bolt address) or not running."""
    return _run("status.sh", home)
