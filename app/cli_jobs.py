"""``amalgam jobs``: batch knowledge-graph construction jobs (local or Ray engine). Thin: parse, call, print."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import TextColumn
from rich.table import Table

from app.cli_progress import progress_bar
from app.jobs import Job, JobDetail, Jobs
from app.jobs.engines import ENGINE_NAMES, JobEngine, build_job_engine
from app.jobs.service import DEFAULT_BATCH_FILES

jobs_app = typer.Typer(help="Batch knowledge-graph construction jobs (resumable).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

Workers = Annotated[
    int, typer.Option("--workers", min=1, max=256, help="local: threads; ray: actors per stage (docs/jobs.md).")
]
EngineName = Annotated[str, typer.Option("--engine", help=f"Where files are prepared: {' or '.join(ENGINE_NAMES)}.")]
RayAddress = Annotated[
    str | None, typer.Option("--ray-address", help="Ray cluster to use with --engine ray (default: a local Ray).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the job record as JSON.")]


@contextmanager
def _jobs() -> Iterator[Jobs]:
    from app.cli import _engine

    engine = _engine()
    jobs = Jobs(engine)
    try:
        yield jobs
    finally:
        jobs.close()
        engine.close()


@jobs_app.command("run")
def run(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    name: Annotated[str, typer.Option("--name", help="A name to find the job by.")] = "",
    workers: Workers = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Files per batch.")] = DEFAULT_BATCH_FILES,
    engine: EngineName = "local",
    ray_address: RayAddress = None,
    as_json: AsJson = False,
) -> None:
    """Create a job over PATHS and run it, with progress; exit 1 if any file failed."""
    runner = _engine(engine, workers, ray_address)  # an unknown engine is refused before a job is made
    with _jobs() as jobs:
        job = jobs.create(paths, name=name, batch_size=batch_size)
        err_console.print(f"job {job.id}: {job.counts.files_total} files (resume with: amalgam jobs resume {job.id})")
        _finish(_with_progress(job, lambda on_event: jobs.run(job.id, on_event=on_event, engine=runner)), as_json)


@jobs_app.command("resume")
def resume(
    job_id: str, workers: Workers = 1, engine: EngineName = "local", ray_address: RayAddress = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Continue an interrupted or cancelled job; finished files are not redone."""
    runner = _engine(engine, workers, ray_address)
    with _jobs() as jobs:
        job = jobs.summary(job_id)
        _finish(_with_progress(job, lambda on_event: jobs.resume(job_id, on_event=on_event, engine=runner)), as_json)


@jobs_app.command("retry-failed")
def retry_failed(
    job_id: str, workers: Workers = 1, engine: EngineName = "local", ray_address: RayAddress = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Run the job's failed files again."""
    runner = _engine(engine, workers, ray_address)
    with _jobs() as jobs:
        job = jobs.summary(job_id)
        _finish(_with_progress(job, lambda on_event: jobs.retry_failed(job_id, on_event=on_event, engine=runner)),
                as_json)  # fmt: skip


def _engine(name: str, workers: int, ray_address: str | None) -> JobEngine:
    if ray_address and name != "ray":
        raise typer.BadParameter("--ray-address needs --engine ray", param_hint="--ray-address")
    return build_job_engine(name, workers=workers, ray_address=ray_address)


@jobs_app.command("cancel")
def cancel(job_id: str) -> None:
    """Ask a job to stop after its current batch (a job no process runs is cancelled at once)."""
    with _jobs() as jobs:
        job = jobs.cancel(job_id)
    note = " (stops after its current batch)" if job.status == "running" else ""
    console.print(f"job {job.id}: {job.status}{note}")


@jobs_app.command("list")
def list_jobs(as_json: AsJson = False) -> None:
    """The workspace's jobs, newest first."""
    with _jobs() as jobs:
        found = jobs.list_jobs()
    if as_json:
        print(json.dumps([j.model_dump() for j in found], indent=2))
        return
    table = Table("name", "status", "files", "failed", "documents", "chunks", "created")
    table.add_column("id", no_wrap=True)
    for job in found:
        c = job.counts
        table.add_row(escape(job.name), _status(job), f"{c.files_done + c.files_failed}/{c.files_total}",
                      str(c.files_failed), str(c.documents), str(c.chunks), _when(job.created_at), job.id)  # fmt: skip
    console.print(table)


@jobs_app.command("show")
def show(job_id: str, as_json: AsJson = False) -> None:
    """One job: its progress, figures and failed files."""
    with _jobs() as jobs:
        job = jobs.get(job_id)
    if as_json:
        print(job.model_dump_json(indent=2))
        return
    c = job.counts
    console.print(f"[bold]{job.id}[/bold] {escape(job.name)}: {_status(job)}", highlight=False)
    console.print(f"  files {c.files_done} done, {c.files_failed} failed, {c.files_total} in all; "
                  f"{c.documents} documents, {c.chunks} chunks, {c.entities} entities, {c.relations} relations; "
                  f"tokens {c.prompt_tokens} prompt + {c.completion_tokens} completion", highlight=False)  # fmt: skip
    eta = f", ETA {job.eta_s:.0f} s" if job.eta_s is not None else ""
    console.print(f"  elapsed {job.elapsed_s:.1f} s{eta}; created {_when(job.created_at)}", highlight=False)
    if job.error:
        err_console.print(f"  [red]error:[/red] {escape(job.error)}")
    _print_failures(job)


def _with_progress(job: Job, run: Callable[[Callable[[str, int], None]], JobDetail]) -> JobDetail:
    """Run with a progress bar: files (done of total, ETA), and chunks with their rate."""
    c = job.counts
    with progress_bar(err_console, TextColumn("{task.fields[rate]}")) as bar:
        files = bar.add_task("files", total=c.files_total, completed=c.files_done + c.files_failed, rate="")
        chunks = bar.add_task("chunks", total=None, rate="")

        def on_event(event: str, amount: int) -> None:
            if event in ("file_done", "file_failed"):
                bar.advance(files, amount)
            elif event == "chunk":
                bar.advance(chunks, amount)
                speed = bar.tasks[chunks].speed
                bar.update(chunks, rate=f"{speed:.1f} chunks/s" if speed else "")

        return run(on_event)


def _finish(job: JobDetail, as_json: bool) -> None:
    if as_json:
        print(job.model_dump_json(indent=2))
    else:
        c = job.counts
        console.print(f"job {job.id} {job.status}: {c.files_done} files done, {c.files_failed} failed; {c.documents} "
                      f"documents, {c.chunks} chunks, {c.entities} entities, {c.relations} relations in "
                      f"{job.elapsed_s:.1f} s", highlight=False)  # fmt: skip
        _print_failures(job)
    if job.error:
        err_console.print(f"[red]error:[/red] {escape(job.error)} (resume with: amalgam jobs resume {job.id})")
        raise typer.Exit(1)
    if job.failures:
        raise typer.Exit(1)


def _print_failures(job: JobDetail) -> None:
    if not job.failures:
        return
    table = Table("file", "reason", title=f"{len(job.failures)} failed file(s)", title_justify="left")
    for file in job.failures:
        table.add_row(escape(file.path), escape(file.error))
    err_console.print(table)


def _status(job: Job) -> str:
    if job.interrupted:
        return "running (interrupted: resume it)"
    return job.status + (" (cancel requested)" if job.cancel_requested and job.status == "running" else "")


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
