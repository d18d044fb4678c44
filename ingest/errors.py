"""The exception root of Amalgam, kept in the lowest layer so that every stage can raise it.

Each stage adds its own errors under this root (``graph.errors``, ``retrieval.errors``); HTTP status
codes and exit codes are chosen only in ``app`` (``app.errors`` gathers the whole tree).
"""

from __future__ import annotations


class AmalgamError(Exception):
    """Root of every error Amalgam raises on purpose."""


class ConfigError(AmalgamError):
    """Settings are invalid or inconsistent."""


class IngestError(AmalgamError):
    """A source could not be read or parsed (corrupt, empty, undecodable, unsupported)."""


class StorageError(AmalgamError):
    """The data dir cannot be written (read-only, full, gone): nothing is wrong with the input."""


class WorkspaceBusyError(AmalgamError):
    """Another writer (a thread or another process) held the workspace for longer than the caller would wait."""


class UnknownComponentError(AmalgamError):
    """A pluggable part (loader, chunker, extractor, store, ...) was asked for by an unknown name."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")
        self.kind, self.name, self.known = kind, name, known


class MissingExtraError(AmalgamError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed; install it with: pip install 'amalgam[{extra}]'")
        self.package, self.extra = package, extra
