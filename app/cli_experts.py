"""`amalgam experts ...`: train experts on the graph's communities (or folders), merge them, list them, and
show how a question would be routed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import Settings, load_settings
from app.errors import AmalgamError
from app.runtime import configure_process

experts_app = typer.Typer(help="Expert LLMs: train (LoRA), merge (mergekit), list, route.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except AmalgamError as exc:
        _fail(exc)
    configure_process(settings)
    return settings


def _fail(exc: AmalgamError) -> None:
    err_console.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(code=2)


@experts_app.command("train")
def train(
    community: Annotated[
        list[str] | None, typer.Option("--community", "-c", help="A top-level community id or title (repeat).")
    ] = None,
    folder: Annotated[
        Path | None, typer.Option(help="A folder with one sub-folder of documents per domain (instead of communities).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Without --community: the N largest top-level communities.")] = 2,
    steps: Annotated[int, typer.Option(min=1, help="LoRA steps per expert.")] = 40,
    batch_size: Annotated[int, typer.Option(min=1)] = 4,
    seq_len: Annotated[int, typer.Option(min=16)] = 256,
    base: Annotated[str, typer.Option(help="Base model: packaged name, .gguf file or checkpoint folder.")] = "smollm2",
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
) -> None:
    """Fine-tune one expert per domain (LoRA, merged into full weights) and register it."""
    from app.experts.domains import domains_from_communities, domains_from_folder
    from app.experts.train import TrainOptions
    from app.experts.workflow import train_domains
    from app.services import open_store

    settings = _settings()
    options = TrainOptions(steps=steps, batch_size=batch_size, seq_len=seq_len, device=device)
    try:
        if folder is not None:
            domains = domains_from_folder(folder)
        else:
            store = open_store(settings)
            try:
                domains = domains_from_communities(store, community or [], limit)
            finally:
                store.close()
        with _progress() as bar:
            task = bar.add_task("training", total=steps * len(domains))
            reports = train_domains(settings, domains, options, base, lambda *_: bar.advance(task))
    except AmalgamError as exc:
        _fail(exc)
    for report in reports:
        console.print(
            f"{report.output}: {report.blocks} blocks, {report.steps} steps in {report.seconds:.0f}s, "
            f"loss {report.first_loss:.2f} → {report.last_loss:.2f}",
            markup=False,
        )


@experts_app.command("merge")
def merge(
    recipe: Annotated[Path, typer.Argument(help="A merge recipe (YAML): name, method, base, models, seed.")],
) -> None:
    """Merge experts with mergekit and register the merged model."""
    from app.experts.workflow import merge_recipe

    settings = _settings()
    try:
        with console.status("merging with mergekit..."):
            report = merge_recipe(settings, recipe)
    except AmalgamError as exc:
        _fail(exc)
    console.print(
        f"{report.name}: {report.method} merge written to {report.output} in {report.seconds:.0f}s", markup=False
    )


@experts_app.command("list")
def list_experts(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The experts of the workspace's registry."""
    from app.experts.registry import load_registry, registry_path

    settings = _settings()
    try:
        registry = load_registry(registry_path(settings.workspace_dir, settings.experts_file))
    except AmalgamError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps([e.model_dump(mode="json") for e in registry.experts], indent=2))
        return
    table = Table("name", "backend", "description")
    for expert in registry.experts:
        where = str(expert.local_path) if expert.local_path else str(getattr(expert.backend, "base_url", ""))
        table.add_row(expert.name, f"{expert.backend.kind}: {where}", expert.description[:80])
    console.print(table)


@experts_app.command("route")
def route(
    question: Annotated[str, typer.Argument(help="The question to route.")],
    router: Annotated[
        str | None, typer.Option(help="centroid, graph or combined; default AMALGAM_EXPERTS_ROUTER.")
    ] = None,
) -> None:
    """Which expert would answer the question, with each expert's score and the reason (nothing generated)."""
    from app.engine import Engine

    settings = _settings()
    if router:
        settings = settings.model_copy(update={"experts_router": router})
    engine = Engine(settings)
    try:
        chosen = engine.experts.resolve(engine.retrieve(question))
    except AmalgamError as exc:
        _fail(exc)
    finally:
        engine.close()
    print(chosen.model_dump_json(indent=2))


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )
