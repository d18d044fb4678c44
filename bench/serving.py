"""Shared by the REST benchmarks: start ``amalgam serve`` as a subprocess on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(data_dir: Path, env: dict[str, str], *, timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    """``amalgam serve`` over ``data_dir``; returns the process and its base URL once /healthz answers."""
    port = free_port()
    server = subprocess.Popen(
        ["amalgam", "serve", "--port", str(port)],
        env={**env, "AMALGAM_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the API server did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=60)
