"""The workspaces a server serves: each one's ``Engine`` (and background jobs) opened on first use and kept.

A workspace is a folder ``data_dir/<name>`` (the default workspace always exists). Each has its own store,
indexes, uploads and job records, so nothing is shared between two of them but the process's models.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from app.config import WORKSPACE_PATTERN, Settings
from app.engine import Engine
from app.errors import AmalgamError, StorageError
from app.jobs import Jobs
from app.jobs.background import BackgroundJobs

MARKER = ".amalgam-workspace"  # written into folders made through the API; any existing folder counts too


class UnknownWorkspaceError(AmalgamError):
    """No workspace of that name (or a name that is not a valid workspace name)."""


@dataclass
class Workspace:
    name: str
    engine: Engine
    jobs: BackgroundJobs

    @property
    def upload_dir(self) -> Path:
        return self.engine.settings.workspace_dir / "uploads"


class Workspaces:
    def __init__(self, settings: Settings, default_engine: Engine | None = None) -> None:
        self.settings = settings
        self.default = settings.workspace
        engine = default_engine or Engine(settings)
        self._open: dict[str, Workspace] = {self.default: Workspace(self.default, engine, _jobs_of(engine))}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """The default workspace and every folder in the data dir that can be one (the jobs root excluded)."""
        found = {self.default, *self._open}
        if self.settings.data_dir.is_dir():
            jobs_root = self.settings.jobs_root.resolve()
            for child in self.settings.data_dir.iterdir():
                if WORKSPACE_PATTERN.match(child.name) and child.is_dir() and child.resolve() != jobs_root:
                    found.add(child.name)
        return sorted(found)

    def exists(self, name: str) -> bool:
        return name in self._open or (
            WORKSPACE_PATTERN.match(name) is not None
            and (self.settings.data_dir / name).is_dir()
            and (self.settings.data_dir / name).resolve() != self.settings.jobs_root.resolve()
        )

    def create(self, name: str) -> bool:
        """Make the workspace's folder; False when it existed already."""
        if not WORKSPACE_PATTERN.match(name):
            raise UnknownWorkspaceError(f"invalid workspace name {name!r}")
        if self.exists(name):
            return False
        folder = self.settings.data_dir / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / MARKER).touch()
        except OSError as exc:
            raise StorageError(f"cannot create workspace {name!r}: {exc.strerror}") from exc
        return True

    def get(self, name: str) -> Workspace:
        """The open workspace, opened now if needed (the engine's heavy parts still load on first use)."""
        workspace = self._open.get(name)
        if workspace is not None:
            return workspace
        if not self.exists(name):
            raise UnknownWorkspaceError(f"no workspace {name!r}")
        with self._lock:
            workspace = self._open.get(name)
            if workspace is None:
                engine = Engine(self.settings.model_copy(update={"workspace": name}))
                workspace = self._open[name] = Workspace(name, engine, _jobs_of(engine))
        return workspace

    def shutdown(self) -> None:
        """Stop every workspace's background jobs (each stays resumable)."""
        for workspace in list(self._open.values()):
            workspace.jobs.shutdown()

    def close(self) -> None:
        """Close the engines this registry opened (the default one belongs to whoever passed it in); a later
        request opens them again."""
        with self._lock:
            closing = [w for name, w in self._open.items() if name != self.default]
            self._open = {self.default: self._open[self.default]}
        for workspace in closing:
            workspace.engine.close()


def _jobs_of(engine: Engine) -> BackgroundJobs:
    return BackgroundJobs(Jobs(engine))
