"""API keys: several, each stored as a SHA-256 digest, each scoped to workspaces with a read or admin scope.

An entry is one line ``name:sha256hex:scope:workspaces`` (``scope`` is ``read`` or ``admin``; ``workspaces``
a comma-separated list of names, or ``*`` for all). Entries come from the ``api_keys`` setting and from the
keys file (``api_keys_file``, written by ``amalgam keys add``); the single ``api_key`` setting of older
configurations stays valid as an admin key for every workspace. The secret itself is never stored: it is
printed once when the key is made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.config import WORKSPACE_PATTERN, Settings
from app.errors import ConfigError

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
ALL_WORKSPACES = "*"
KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
LEGACY_KEY_NAME = "AMALGAM_API_KEY"


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: str
    scope: Scope
    workspaces: tuple[str, ...]

    @property
    def admin(self) -> bool:
        return self.scope == "admin"

    def allows(self, workspace: str) -> bool:
        return ALL_WORKSPACES in self.workspaces or workspace in self.workspaces

    def entry(self) -> str:
        return f"{self.name}:{self.digest}:{self.scope}:{','.join(self.workspaces)}"


def parse_key_entry(entry: str) -> ApiKey:
    """One ``name:sha256hex:scope:workspaces`` line; a ``ValueError`` says what is wrong (never the digest)."""
    parts = entry.strip().split(":")
    if len(parts) != 4:
        raise ValueError("an API key entry is name:sha256hex:read|admin:workspaces")
    name, digest, scope, listed = parts
    if not KEY_NAME.match(name):
        raise ValueError(f"API key name {name!r} is not 1-64 letters, digits, '_', '.' or '-'")
    if not _DIGEST.match(digest):
        raise ValueError(f"API key {name!r}: the hash is not 64 lowercase hex digits (sha256)")
    if scope not in SCOPES:
        raise ValueError(f"API key {name!r}: scope {scope!r} is not one of {', '.join(SCOPES)}")
    workspaces = tuple(w for w in listed.split(",") if w)
    bad = [w for w in workspaces if w != ALL_WORKSPACES and not WORKSPACE_PATTERN.match(w)]
    if not workspaces or bad:
        raise ValueError(f"API key {name!r}: workspaces must be '*' or workspace names, got {listed!r}")
    return ApiKey(name, digest, scope, workspaces)  # type: ignore[arg-type]


def read_key_file(path: Path) -> list[ApiKey]:
    """The entries of a keys file (blank lines and ``#`` comments skipped); a bad line is a ``ConfigError``."""
    if not path.is_file():
        return []
    keys = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                keys.append(parse_key_entry(line))
            except ValueError as exc:
                raise ConfigError(f"{path.name} line {number}: {exc}") from exc
    return keys


def add_key(path: Path, name: str, scope: Scope, workspaces: list[str]) -> str:
    """Append a new key to the keys file and return its secret (shown once; only its digest is kept)."""
    if any(key.name == name for key in read_key_file(path)):
        raise ConfigError(f"an API key named {name!r} exists already (remove it first)")
    secret = "amk_" + secrets.token_urlsafe(32)
    try:
        entry = parse_key_entry(f"{name}:{digest_of(secret)}:{scope}:{','.join(workspaces) or ALL_WORKSPACES}")
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(entry.entry() + "\n")
    path.chmod(0o600)
    return secret


def remove_key(path: Path, name: str) -> bool:
    keys = read_key_file(path)
    kept = [key for key in keys if key.name != name]
    if len(kept) == len(keys):
        return False
    path.write_text("".join(key.entry() + "\n" for key in kept), encoding="utf-8")
    return True


class KeyRing:
    """The keys a server accepts: from the settings, and from the keys file (re-read when it changes, so a
    key added with ``amalgam keys add`` works without a restart)."""

    def __init__(self, settings: Settings) -> None:
        self._fixed = [parse_key_entry(entry) for entry in settings.api_keys]
        if settings.api_key:
            self._fixed.append(ApiKey(LEGACY_KEY_NAME, digest_of(settings.api_key), "admin", (ALL_WORKSPACES,)))
        self._file = settings.api_keys_file
        self._file_keys: list[ApiKey] = []
        self._file_stamp: tuple[float, int] | None = None
        self._lock = threading.Lock()
        self._refresh()

    def _refresh(self) -> None:
        try:
            stat = self._file.stat()
            stamp: tuple[float, int] | None = (stat.st_mtime, stat.st_size)
        except OSError:
            stamp = None
        if stamp == self._file_stamp:
            return
        with self._lock:
            self._file_keys = read_key_file(self._file) if stamp else []
            self._file_stamp = stamp

    @property
    def keys(self) -> list[ApiKey]:
        self._refresh()
        return self._fixed + self._file_keys

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def match(self, given: str | None) -> ApiKey | None:
        """The key whose digest matches ``given``. Every stored digest is compared, each in constant time,
        so the time taken tells nothing about which key (or how much of one) matched."""
        if not given:
            return None
        digest = digest_of(given).encode()
        found = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.digest.encode()) and found is None:
                found = key
        return found
