"""Advisory file locks between processes: one writer per workspace, index files read whole.

Two processes may open one workspace at once (``amalgam serve`` and an ``amalgam ingest`` in another
terminal, two jobs, a CLI delete). Each keeps the search indexes in memory and saves them whole, so
without a lock between them the last one to save drops what the other added: chunks in the store that no
search can find. ``flock`` locks belong to an open file, so they also exclude two threads that each open
the lock file, and the kernel releases them when a process dies (a killed writer never leaves the
workspace locked). Where ``fcntl`` is missing (Windows) the locks are no-ops: one writer process at a time
is then up to the user.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ingest.errors import StorageError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

POLL_SECONDS = 0.05


@contextmanager
def file_lock(
    path: Path, *, shared: bool = False, on_wait: Callable[[], None] | None = None, timeout: float | None = None
) -> Iterator[None]:
    """Hold ``path``'s lock (exclusive, or shared with other shared holders) for the block.

    ``on_wait`` is called once, before blocking, when another holder has it: the caller can say why it
    stops (a CLI writer waiting for a server's ingest). ``timeout``: give up after that many seconds with
    ``TimeoutError`` (an HTTP request should not hang for the length of another process's ingest)."""
    if fcntl is None:
        yield
        return
    handle = _open_for_reading(path) if shared else _open_for_writing(path)
    if handle is None:  # no folder yet (nothing saved to read), or a read-only one that never had a writer
        yield
        return
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with handle:
        try:
            fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            _wait_for(handle.fileno(), mode, timeout)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _wait_for(descriptor: int, mode: int, timeout: float | None) -> None:
    if timeout is None:
        fcntl.flock(descriptor, mode)
        return
    deadline = time.monotonic() + timeout
    while True:  # flock has no timeout of its own: poll
        try:
            fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"another holder kept the lock for {timeout:g} s") from None
            time.sleep(POLL_SECONDS)


def _open_for_writing(path: Path) -> BinaryIO:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder {path.parent}: {exc}") from exc
    try:
        return path.open("a+b")
    except OSError as exc:
        raise StorageError(f"cannot write the lock file {path}: {exc}") from exc


def _open_for_reading(path: Path) -> BinaryIO | None:
    """The lock file for a shared lock: a reader of a read-only workspace may lock it without writing."""
    try:
        return path.open("a+b")
    except FileNotFoundError:  # no folder yet: nothing saved to read
        return None
    except OSError:  # read-only: lock without creating or writing
        try:
            return path.open("rb")
        except FileNotFoundError:
            return None
