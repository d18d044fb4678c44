"""`amalgam keys ...`: API keys in the keys file (AMALGAM_API_KEYS_FILE), stored as SHA-256 digests."""

from __future__ import annotations

from typing import Annotated

import typer

from app.config import load_settings
from app.errors import AmalgamError
from app.keys import ALL_WORKSPACES, add_key, read_key_file, remove_key

keys_app = typer.Typer(help="API keys: add (printed once), list, remove.", no_args_is_help=True)


def _fail(exc: AmalgamError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


@keys_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name to know the key by (letters, digits, '_', '.', '-').")],
    scope: Annotated[
        str, typer.Option(help="read: ask, chat, search, browse; admin: also upload, delete, jobs.")
    ] = "read",
    workspace: Annotated[
        list[str] | None, typer.Option("--workspace", "-w", help="A workspace it may use (repeat); all if none.")
    ] = None,
) -> None:
    """Make a key and print it once: only its SHA-256 digest is stored."""
    if scope not in ("read", "admin"):
        typer.echo("error: --scope is read or admin", err=True)
        raise typer.Exit(code=2)
    try:
        settings = load_settings()
        secret = add_key(settings.api_keys_file, name, scope, list(workspace or [ALL_WORKSPACES]))  # type: ignore[arg-type]
    except AmalgamError as exc:
        _fail(exc)
    typer.echo(secret)
    typer.echo(f"key {name!r} ({scope}) added to {settings.api_keys_file}; it is shown only now.", err=True)


@keys_app.command("list")
def list_keys() -> None:
    """Names, scopes and workspaces of the keys in the keys file (never the keys)."""
    try:
        keys = read_key_file(load_settings().api_keys_file)
    except AmalgamError as exc:
        _fail(exc)
    for key in keys:
        typer.echo(f"{key.name}\t{key.scope}\t{','.join(key.workspaces)}")


@keys_app.command("remove")
def remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove a key from the keys file (a running server stops accepting it at once)."""
    try:
        removed = remove_key(load_settings().api_keys_file, name)
    except AmalgamError as exc:
        _fail(exc)
    if not removed:
        typer.echo(f"error: no key named {name!r}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"removed {name}")
