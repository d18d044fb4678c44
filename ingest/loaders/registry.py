"""Loaders chosen by file extension; ``discover`` and ``load_file`` are what the pipeline uses.

Every failure of a loader, whatever its exception type (a malformed PDF can raise RecursionError
deep inside the PDF library), becomes an ``IngestError`` that names the file: one bad file is a
per-file error, never the end of an ingest.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders.base import Loaded, Loader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.jsonl import JsonlLoader
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.text import MarkdownLoader, TextLoader
from ingest.models import Document

log = logging.getLogger(__name__)

LOADERS: tuple[Loader, ...] = (TextLoader(), MarkdownLoader(), HtmlLoader(), PdfLoader(), JsonlLoader())
_BY_EXTENSION = {ext: loader for loader in LOADERS for ext in loader.extensions}
SUPPORTED_EXTENSIONS = tuple(sorted(_BY_EXTENSION))

# One file's cost grows linearly with its size; this bound keeps a single file from taking hours.
_MB = 1024 * 1024
MAX_FILE_BYTES = 50 * _MB


@dataclass(frozen=True)
class Skipped:
    """A path ``discover`` found but will not load, and why (a link loop, a FIFO, ...).

    ``load_file`` raises its reason as an ``IngestError``, so it is reported like any bad file.
    """

    path: Path
    reason: str

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)


def loader_for(path: Path) -> Loader:
    loader = _BY_EXTENSION.get(path.suffix.lower())
    if loader is None:
        raise IngestError(f"{path}: unsupported file type {path.suffix or '(none)'}; "
                          f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")  # fmt: skip
    return loader


def load_file(path: Path | Skipped, *, max_bytes: int | None = MAX_FILE_BYTES) -> Loaded:
    """Load one file into documents plus per-record problems; ``IngestError`` naming the file when
    nothing can be loaded. ``max_bytes`` (None = no limit) refuses larger files before reading them."""
    if isinstance(path, Skipped):
        raise IngestError(f"{path.path}: skipped, {path.reason}")
    loader = loader_for(path)
    _check_regular_file(path, max_bytes)
    try:
        return loader.load_with_problems(path)
    except IngestError:
        raise
    except RecursionError as exc:
        raise IngestError(f"{path}: malformed {loader_name(loader)} (structure nested too deeply)") from exc
    except Exception as exc:  # any library failure on hostile input is this file's problem only
        raise IngestError(
            f"{path}: malformed or unreadable {loader_name(loader)} ({type(exc).__name__}: {exc})"
        ) from exc


def load_path(path: Path | Skipped, *, max_bytes: int | None = MAX_FILE_BYTES) -> list[Document]:
    """The documents of one file (see :func:`load_file`); per-record problems are only logged."""
    loaded = load_file(path, max_bytes=max_bytes)
    for problem in loaded.problems:
        log.warning("%s: %s", path, problem)
    return loaded.documents


def loader_name(loader: Loader) -> str:
    return loader.extensions[0].lstrip(".").upper()


def _check_regular_file(path: Path, max_bytes: int | None) -> None:
    try:
        info = path.stat()
    except OSError as exc:
        raise IngestError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise IngestError(f"{path}: not a regular file ({_kind(info.st_mode)})")
    if max_bytes is not None and info.st_size > max_bytes:
        raise IngestError(
            f"{path}: too large ({info.st_size / _MB:.1f} MB; the per-file limit is {max_bytes / _MB:.1f} MB)"
        )


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "a special file")


def discover(paths: list[Path]) -> Iterator[Path | Skipped]:
    """Files to ingest: the given paths, and every entry below given folders (sorted, hidden ones
    skipped). Inside a folder, symbolic links are followed only when they resolve to a file inside
    that folder; a link loop, a dangling link, a link out of the folder, a FIFO, socket or device
    comes back as ``Skipped`` with its reason, never silently dropped."""
    for path in paths:
        if path.is_dir():
            yield from _walk(path, path.resolve())
        else:
            yield path


def _walk(folder: Path, root: Path) -> Iterator[Path | Skipped]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        yield Skipped(folder, f"folder cannot be read ({exc.strerror or exc})")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            yield _link(path, root)
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(path, root)
        elif entry.is_file(follow_symlinks=False):
            yield path
        else:
            yield Skipped(path, f"not a regular file ({_kind(entry.stat(follow_symlinks=False).st_mode)})")


def _link(path: Path, root: Path) -> Path | Skipped:
    """A link inside a walked folder: the path when it leads to a file in the folder, else why not."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way
        return Skipped(path, "symbolic link loop")
    except FileNotFoundError:
        return Skipped(path, f"dangling symbolic link (to {os.readlink(path)})")
    except OSError as exc:
        reason = "symbolic link loop" if "loop" in str(exc).lower() else f"link cannot be followed ({exc.strerror})"
        return Skipped(path, reason)
    if not target.is_relative_to(root):
        return Skipped(path, "symbolic link to outside the ingested folder (not followed)")
    if target.is_dir():
        return Skipped(path, "symbolic link to a folder (not followed; the folder itself is walked)")
    return path
