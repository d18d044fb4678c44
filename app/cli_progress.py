"""The CLI's progress bars: one look for ingest and jobs (what, bar, done/total, elapsed, time remaining)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(console: Console, *extra: ProgressColumn) -> Progress:
    """A progress display on ``console`` (stderr: stdout stays for results), ``extra`` columns at the end."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra,
        console=console,
    )
