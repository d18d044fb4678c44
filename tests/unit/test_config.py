from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from app.errors import ConfigError


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AMALGAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMALGAM_WORKSPACE", "team-a")
    settings = load_settings()
    assert settings.workspace_dir == tmp_path / "team-a"
    assert settings.graph_backend == "embedded"


def test_toml_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "amalgam.toml"
    config.write_text('workspace = "from-toml"\ntop_k = 7\n')
    monkeypatch.setenv("AMALGAM_CONFIG", str(config))
    settings = load_settings()
    assert (settings.workspace, settings.top_k) == ("from-toml", 7)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"workspace": "../escape"}, "workspace"),
        ({"graph_backend": "sqlite-ish"}, "graph_backend"),
        ({"llm_provider": "openai"}, "llm_model"),
        ({"chunk_target_tokens": 500, "chunk_max_tokens": 100}, "chunk_max_tokens"),
    ],
)
def test_invalid_settings_fail_at_start_with_the_field_named(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


def test_generated_neo4j_password_is_used_when_none_configured(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("s3cret\n")
    assert load_settings(neo4j_home=tmp_path).resolved_neo4j_password() == "s3cret"
    assert load_settings(neo4j_home=tmp_path, neo4j_password="given").resolved_neo4j_password() == "given"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"chunker": "perplexty"}, ["unknown chunker 'perplexty'", "perplexity", "semantic", "fixed"]),
        ({"extractor": "spacey"}, ["unknown extractor 'spacey'", "auto", "spacy", "llm"]),
        ({"retrieval_mode": "hybird"}, ["retrieval_mode"]),
    ],
)
def test_unknown_plugin_names_fail_when_settings_load(overrides: dict, named: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert all(part in str(caught.value) for part in named)
