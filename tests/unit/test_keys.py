"""API keys: stored as digests only, scoped, parsed strictly, and re-read when the keys file changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.config import load_settings
from app.errors import ConfigError
from app.keys import KeyRing, add_key, parse_key_entry, read_key_file, remove_key


def test_added_key_is_stored_hashed_and_matched_with_its_scope(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    secret = add_key(settings.api_keys_file, "reader", "read", ["team-a"])
    stored = settings.api_keys_file.read_text()
    assert secret not in stored and hashlib.sha256(secret.encode()).hexdigest() in stored
    ring = KeyRing(settings)
    key = ring.match(secret)
    assert key is not None and key.name == "reader" and not key.admin
    assert key.allows("team-a") and not key.allows("team-b")
    assert ring.match(secret + "x") is None and ring.match("") is None and ring.match(None) is None


def test_key_file_changes_are_seen_without_a_restart(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    ring = KeyRing(settings)
    assert not ring.enabled
    secret = add_key(settings.api_keys_file, "ops", "admin", [])
    assert ring.match(secret) is not None and ring.match(secret).workspaces == ("*",)  # type: ignore[union-attr]
    assert remove_key(settings.api_keys_file, "ops")
    assert ring.match(secret) is None and not ring.enabled


def test_legacy_single_key_is_an_admin_key_for_every_workspace(tmp_path: Path) -> None:
    ring = KeyRing(load_settings(data_dir=tmp_path, api_key="old-secret"))
    key = ring.match("old-secret")
    assert key is not None and key.admin and key.allows("anything")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("name:abc:read:*", "64 lowercase hex"),
        (f"name:{'a' * 64}:owner:*", "scope"),
        (f"name:{'a' * 64}:read:../etc", "workspaces"),
        (f"../x:{'a' * 64}:read:*", "name"),
        ("just-a-secret", "name:sha256hex"),
    ],
)
def test_bad_entries_are_refused_with_a_reason(entry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_key_entry(entry)


def test_bad_entries_fail_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="api_keys"):
        load_settings(data_dir=tmp_path, api_keys=["oops"])
    (tmp_path / "keys.txt").write_text("# comment\n\nbroken line\n")
    with pytest.raises(ConfigError, match="line 3"):
        read_key_file(tmp_path / "keys.txt")


def test_duplicate_key_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    add_key(path, "ops", "admin", [])
    with pytest.raises(ConfigError, match="exists already"):
        add_key(path, "ops", "read", [])
