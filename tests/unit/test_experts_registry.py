"""experts.yaml: what loads, and every refusal naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError, UnknownComponentError
from app.experts.registry import CheckpointBackend, Expert, OpenAIBackend, load_registry, register


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "film").mkdir(exist_ok=True)
    (tmp_path / "base.gguf").write_bytes(b"GGUF")
    path = tmp_path / "experts.yaml"
    path.write_text(text)
    return path


GOOD = """
experts:
  - name: film
    description: Films and actors
    examples: ["Who directed Alien?"]
    backend: {kind: checkpoint, path: film}
    communities: [c1]
    documents: [doc-1]
  - name: remote
    backend: {kind: openai, base_url: "http://127.0.0.1:9/v1", model: m}
  - name: general
    backend: {kind: gguf, path: base.gguf}
"""


def test_a_valid_registry_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    registry = load_registry(_write(tmp_path, GOOD))
    assert registry.names == ["film", "remote", "general"]
    assert registry.get("film").local_path == tmp_path / "film"
    assert registry.get("film").documents == ["doc-1"] and registry.get("remote").documents == []
    assert registry.general.local_path == tmp_path / "base.gguf"
    assert isinstance(registry.get("remote").backend, OpenAIBackend)
    assert [e.name for e in registry.specialists] == ["film", "remote"]
    with pytest.raises(UnknownComponentError, match="unknown expert 'nope'; known: film, general, remote"):
        registry.get("nope")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "kind: checkpoint, path: film}",
            r"experts\[0\]\.backend\.kind: unknown backend 'ollama'; known: checkpoint, gguf, openai",
        ),
        ("kind: checkpoint, path: gone}", r"experts\[0\]\.backend\.path: .*gone does not exist"),
    ],
    ids=["unknown backend", "missing path"],
)
def test_bad_backends_are_named_with_file_and_field(tmp_path: Path, change: str, message: str) -> None:
    bad = change.replace("checkpoint", "ollama") if "film" in change else change
    path = _write(tmp_path, GOOD.replace("kind: checkpoint, path: film}", bad))
    with pytest.raises(ConfigError, match=f"experts.yaml: {message}"):
        load_registry(path)


def test_two_experts_with_one_name_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("name: remote", "name: film"))
    with pytest.raises(
        ConfigError, match=r"experts.yaml: experts\[1\]\.name: duplicate expert name 'film' \(also experts\[0\]\)"
    ):
        load_registry(path)


def test_a_missing_field_and_a_missing_general_are_named(tmp_path: Path) -> None:
    no_model = _write(tmp_path, GOOD.replace(", model: m}", "}"))
    with pytest.raises(ConfigError, match=r"experts.yaml: experts\[1\]\.backend\.model: Field required"):
        load_registry(no_model)
    no_general = _write(tmp_path, GOOD.replace("name: general", "name: other"))
    with pytest.raises(ConfigError, match="no 'general' expert"):
        load_registry(no_general)


def test_register_adds_and_replaces_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    register(path, Expert(name="film", description="new", backend=CheckpointBackend(path=tmp_path / "film")))
    register(path, Expert(name="sport", backend=CheckpointBackend(path=tmp_path / "film")))
    registry = load_registry(path)
    assert registry.names == ["remote", "general", "film", "sport"]
    assert registry.get("film").description == "new"
    assert "path: film" in path.read_text()  # stored relative to the file, so the folder can move
