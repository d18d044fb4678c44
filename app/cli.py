"""The ``amalgam`` command line. Thin: it parses arguments, calls the Engine, and prints."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.cli_progress import progress_bar
from app.config import Settings, load_settings
from app.errors import AmalgamError
from app.runtime import configure_process, quiet_logging
from retrieval.modes import MODE_NAMES

if TYPE_CHECKING:
    from app.pipeline import FileError

app = typer.Typer(help="Amalgam: GraphRAG knowledge fusion.", no_args_is_help=True, pretty_exceptions_enable=False)
neo4j_app = typer.Typer(help="Run a local Neo4j server (no Docker needed).", no_args_is_help=True)
app.add_typer(neo4j_app, name="neo4j")
console = Console()
err_console = Console(stderr=True)

# Sub-command groups that live in their own modules: (module, attribute, name).
_SUBAPPS = (
    ("app.cli_graph", "graph_app", "graph"),
    ("app.cli_eval", "eval_app", "eval"),
    ("app.cli_treehop", "treehop_app", "treehop"),
    ("app.cli_jobs", "jobs_app", "jobs"),
    ("app.cli_keys", "keys_app", "keys"),
    ("app.cli_experts", "experts_app", "experts"),
)
for _module, _attr, _name in _SUBAPPS:
    try:
        app.add_typer(getattr(importlib.import_module(_module), _attr), name=_name)
    except (ImportError, AttributeError) as _exc:  # a sub-app under construction must not break the CLI
        logging.getLogger(__name__).debug("sub-command %s unavailable: %s", _name, _exc)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except AmalgamError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_process(settings)
    return settings


def _engine():  # type: ignore[no-untyped-def]
    from app.engine import Engine

    return Engine(_settings())


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
) -> None:
    """Ingest documents (txt, md, html, pdf, jsonl) into the workspace."""
    engine = _engine()
    try:
        with progress_bar(err_console) as bar:
            files = bar.add_task("files", total=None)
            docs = bar.add_task("documents", total=None)
            chunks = bar.add_task("chunks", total=None)
            tasks = {"file": files, "document": docs, "chunk": chunks}

            def show(event: str, amount: int) -> None:
                if event.endswith("-total"):  # "files-total", "documents-total": before the first file
                    bar.update(tasks[event.removesuffix("s-total")], total=amount)
                else:
                    bar.advance(tasks[event], amount)

            report = engine.ingest(paths, show)
            for task in bar.tasks:  # an estimate (bad or repeated JSONL lines) ends at what was done
                bar.update(task.id, total=task.completed)
    finally:
        engine.close()
    _print_ingest_errors(report.errors)
    summary = (
        f"{report.files} files: {report.documents_new} new, {report.documents_replaced} replaced, "
        f"{report.documents_unchanged} unchanged documents; {report.chunks} chunks, {report.entities} entities, "
        f"{report.relations} relations written"
    )
    if report.extraction_status:
        summary += f"; extraction {dict(sorted(report.extraction_status.items()))}"
    console.print(summary)
    if report.errors:
        failed_files = len({error.path for error in report.errors})
        err_console.print(f"{len(report.errors)} problem(s) in {failed_files} file(s): not ingested (see above)")
        raise typer.Exit(1)


ERRORS_SHOWN_PER_FILE = 5


def _print_ingest_errors(errors: Sequence[FileError]) -> None:
    """Every failed file, with at most a few of its problems (a file may have thousands of bad lines)."""
    by_path: dict[str, list[str]] = {}
    for error in errors:
        by_path.setdefault(error.path, []).append(error.error)
    for messages in by_path.values():
        for message in messages[:ERRORS_SHOWN_PER_FILE]:
            # escape: a file name may hold [brackets] that rich would read as markup
            err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
        if len(messages) > ERRORS_SHOWN_PER_FILE:
            err_console.print(f"  ... and {len(messages) - ERRORS_SHOWN_PER_FILE} more problems in the same file")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full response as JSON.")] = False,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, max=50, help="Default: AMALGAM_TOP_K.")] = None,
    mode: Annotated[
        str | None, typer.Option(help=" | ".join(MODE_NAMES) + ". Default: AMALGAM_RETRIEVAL_MODE.")
    ] = None,
) -> None:
    """Answer a question from the workspace, with citations."""
    engine = _engine()
    try:
        response = engine.ask(question, top_k=top_k, mode=mode)
    finally:
        engine.close()
    if as_json:
        print(response.model_dump_json(indent=2))
        return
    console.print(response.answer, markup=False)
    for number, source in enumerate(response.sources, start=1):
        page = f", p.{source.page}" if source.page else ""
        console.print(f"  [{number}] {source.title}{page}  ({source.chunk_id}, score {source.score:.3f})", markup=False)
    for note in response.notes:
        err_console.print(f"note: {note}", markup=False)


documents_app = typer.Typer(help="List or delete ingested documents.", no_args_is_help=True)
app.add_typer(documents_app, name="documents")


@documents_app.command("list")
def documents_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    engine = _engine()
    try:
        docs = engine.list_documents()
    finally:
        engine.close()
    if as_json:
        print(json.dumps([d.model_dump() for d in docs], indent=2))
        return
    table = Table("id", "title", "source", "status")
    for doc in docs:
        table.add_row(doc.id, doc.title, doc.source, doc.status)
    console.print(table)


@documents_app.command("delete")
def documents_delete(doc_id: str) -> None:
    engine = _engine()
    try:
        report = engine.delete_document(doc_id)
    finally:
        engine.close()
    if not report.found:
        err_console.print(f"[red]error:[/red] no document {doc_id}")
        raise typer.Exit(1)
    console.print(
        f"deleted {doc_id}: {report.chunks} chunks, {report.entities_removed} entities, "
        f"{report.relations_removed} relations removed"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes (default: AMALGAM_API_WORKERS, else 1)."),
    ] = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs)."""
    import uvicorn

    settings = _settings()  # fail fast on bad settings, before the server starts
    if workers is not None:
        os.environ["AMALGAM_API_WORKERS"] = str(workers)  # each worker process reads its settings from here
    processes = workers or settings.api_workers
    uvicorn.run("app.api.main:create_app", factory=True, host=host, port=port, workers=processes)


@app.command()
def ui(
    port: Annotated[int, typer.Option()] = 8501,
    api: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
) -> None:
    """Start the Streamlit chat UI (talks to the REST API at --api)."""
    import subprocess

    script = Path(__file__).resolve().parent.parent / "ui" / "streamlit_app.py"
    raise typer.Exit(
        subprocess.call(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--client.toolbarMode",
                "viewer",
                "--",
                "--api",
                api,
            ]
        )
    )


@app.command()
def chunk(
    file: Annotated[Path, typer.Argument(help="The file to chunk.")],
    chunker: Annotated[str | None, typer.Option(help="fixed | semantic | perplexity | margin | sentence")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the chunks of one file with their offsets, to inspect boundaries."""
    from app.cli_chunk import chunk_command

    chunk_command(file, chunker or _settings().chunker, as_json)


@neo4j_app.command("start")
def neo4j_start(
    port: Annotated[int, typer.Option()] = 7687,
    auth: Annotated[bool, typer.Option("--auth/--no-auth")] = True,
) -> None:
    """Start the local Neo4j server (jars from Maven Central, Java 17)."""
    from app import neo4j_local

    settings = _settings()
    uri, user, _password = neo4j_local.start(settings.neo4j_home, port=port, auth=auth)
    console.print(
        f"Neo4j is up at {uri} (user {user}; password in {settings.neo4j_home / 'password'}). "
        "Use it with AMALGAM_GRAPH_BACKEND=neo4j."
    )


@neo4j_app.command("stop")
def neo4j_stop() -> None:
    from app import neo4j_local

    neo4j_local.stop(_settings().neo4j_home)


@neo4j_app.command("status")
def neo4j_status() -> None:
    from app import neo4j_local

    console.print(neo4j_local.status(_settings().neo4j_home))


def main() -> None:
    quiet_logging()
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a malformed PDF is reported once, as an ingest error
    try:
        app()
    except AmalgamError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
