"""`amalgam experts list|route` through the real command line, over an ingested sample workspace."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import SAMPLE, _env, amalgam

REGISTRY = """
experts:
  - name: engineering
    description: Bridges, viaducts, railways and the engineers who designed and built them
    examples: ["Who designed the viaduct?", "How long is the railway bridge?"]
    backend: {kind: checkpoint, path: engineering}
  - name: nature
    description: Rivers, wildlife, birds of prey and landscapes
    examples: ["Where does the river rise?", "What does the kestrel hunt?"]
    backend: {kind: checkpoint, path: nature}
  - name: general
    backend: {kind: checkpoint, path: general}
"""


def test_experts_list_and_route_from_the_command_line(tmp_path: Path) -> None:
    env = _env(tmp_path, AMALGAM_EXPERTS_ROUTER="centroid")
    assert amalgam(env, "ingest", str(SAMPLE / "halvorsen_viaduct.md")).returncode == 0
    workspace = tmp_path / "data" / "default"
    for name in ("engineering", "nature", "general"):
        (workspace / name).mkdir()  # routing reads no weights; the registry only checks the paths exist
    (workspace / "experts.yaml").write_text(REGISTRY)

    listed = amalgam(env, "experts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [e["name"] for e in json.loads(listed.stdout)] == ["engineering", "nature", "general"]

    routed = amalgam(env, "experts", "route", "Who designed the Halvorsen Viaduct?")
    assert routed.returncode == 0, routed.stderr
    route = json.loads(routed.stdout)
    assert route["expert"] == "engineering"
    assert route["scores"]["engineering"] > route["scores"]["nature"]

    (workspace / "experts.yaml").write_text(REGISTRY.replace("kind: checkpoint, path: nature", "kind: telepathy"))
    refused = amalgam(env, "experts", "list")
    assert refused.returncode == 2
    message = refused.stderr.replace("\n", "")  # rich wraps the line at the terminal width
    assert "experts.yaml: experts[1].backend.kind: unknown backend 'telepathy'" in message
