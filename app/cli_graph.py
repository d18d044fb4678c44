"""`amalgam graph ...`: inspect the fused graph and rebuild its communities."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.config import load_settings
from app.errors import AmalgamError

graph_app = typer.Typer(help="Inspect the knowledge graph: entities, counts, communities.", no_args_is_help=True)


def _open_store():  # type: ignore[no-untyped-def]
    from app.services import open_store

    return open_store(load_settings())


def _fail(exc: AmalgamError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


@graph_app.command("entity")
def entity(
    name: Annotated[str, typer.Argument(help="An entity name or alias (case-insensitive).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    neighbours: Annotated[int, typer.Option(help="How many neighbours to list.")] = 10,
) -> None:
    """List every entity a name or alias maps to (homonyms too), with what tells them apart."""
    try:
        store = _open_store()
    except AmalgamError as exc:
        _fail(exc)
    try:
        found = store.find_entities(_spellings(name))
        if not found:
            typer.echo(f"no entity named {name!r}", err=True)
            raise typer.Exit(code=1)
        found.sort(key=lambda e: (-(e.mention_count or len(e.descriptions_by_source)), e.name, e.id))
        reports = [_entity_report(store, e, neighbours, name) for e in found]
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(reports if len(reports) > 1 else reports[0], indent=2, ensure_ascii=False))
        return
    if len(reports) > 1:
        typer.echo(f"{len(reports)} entities are named or aliased {name!r}:")
        for report in reports:
            typer.echo(f"  - {_one_line(report)}")
        typer.echo("")
    for report in reports:
        typer.echo(f"{report['name']}  [{report['type']}]  id={report['id']}  evidence={report['evidence_count']}")
        typer.echo(f"  matched as: {report['matched_as']}")
        typer.echo(f"  aliases: {', '.join(report['aliases']) or '-'}")
        typer.echo(f"  description: {report['description'] or '-'}")
        typer.echo(f"  sources: {', '.join(report['sources']) or '-'}")
        for n in report["neighbours"]:
            typer.echo(f"  {n['direction']} {n['type']} {n['name']} (weight {n['weight']:g})")


def _spellings(name: str) -> list[str]:
    """The name as typed and its normalised key ("the Yankees" finds "Yankees")."""
    from graph.fusion.normalize import normalize_name

    typed = " ".join(name.split())
    return sorted({typed, normalize_name(typed)} - {""})


def _one_line(report: dict) -> str:  # type: ignore[type-arg]
    """Name, type, the head of the description and where it comes from: enough to tell homonyms apart."""
    head = report["description"].split(". ")[0][:MAX_HEAD_CHARS]
    sources = f" (from {', '.join(report['sources'])})" if report["sources"] else ""
    return f"{report['name']} [{report['type']}]: {head or '-'}{sources}"


MAX_HEAD_CHARS = 120
MAX_SOURCES = 3


def _sources(store, entity) -> list[str]:  # type: ignore[no-untyped-def]
    """Titles (else sources) of the first documents whose chunks mention the entity."""
    doc_ids = list(dict.fromkeys(c.doc_id for c in store.get_chunks(sorted(entity.descriptions_by_source))))
    titles: list[str] = []
    for doc_id in doc_ids[:MAX_SOURCES]:
        document = store.get_document(doc_id)
        if document is not None:
            titles.append(document.title or document.source)
    return titles


def _entity_report(store, entity, limit: int, asked: str = "") -> dict:  # type: ignore[no-untyped-def]
    relations = sorted(store.relations_of([entity.id]), key=lambda r: (-r.weight, r.id))[:limit]
    other_ids = [r.target_id if r.source_id == entity.id else r.source_id for r in relations]
    names = {e.id: e.name for e in store.get_entities(other_ids)} if other_ids else {}
    spellings = {s.casefold() for s in _spellings(asked)} if asked else set()
    return {
        "id": entity.id,
        "name": entity.name,
        "type": entity.type,
        "matched_as": "name" if not spellings or entity.name.casefold() in spellings else "alias",
        "aliases": sorted(entity.aliases),
        "description": entity.description,
        "sources": _sources(store, entity),
        "evidence_count": entity.mention_count or len(entity.descriptions_by_source),
        "descriptions_by_source": entity.descriptions_by_source,
        "neighbours": [
            {
                "id": other,
                "name": names.get(other, other),
                "type": r.type,
                "direction": "->" if r.source_id == entity.id else "<-",
                "weight": r.weight,
                "conflict": r.conflict,
            }
            for r, other in zip(relations, other_ids, strict=True)
        ],
    }


@graph_app.command("stats")
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts by label in the current workspace."""
    try:
        store = _open_store()
        try:
            counts = store.stats().model_dump()
            levels: dict[int, int] = {}
            for community in store.get_communities():
                levels[community.level] = levels.get(community.level, 0) + 1
        finally:
            store.close()
    except AmalgamError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps({**counts, "communities_by_level": levels}, indent=2))
        return
    for label, count in counts.items():
        typer.echo(f"{label:12s} {count}")
    for level in sorted(levels):
        typer.echo(f"  level {level:<4d} {levels[level]}")


@graph_app.command("rebuild-communities")
def rebuild(seed: Annotated[int, typer.Option(help="Leiden random seed.")] = 42) -> None:
    """Recompute the community hierarchy, its summaries and their search vectors; clears stale marks."""
    from app.communities import refresh_communities
    from app.engine import workspace_write_lock
    from app.services import get_embedder, get_summarizer, open_store

    try:
        settings = load_settings()
        store = open_store(settings)
        try:
            with workspace_write_lock(settings):  # not beside an ingest of another process
                done = refresh_communities(settings, store, get_embedder(settings), get_summarizer(settings), seed=seed)
        finally:
            store.close()
    except AmalgamError as exc:
        _fail(exc)
    levels = ", ".join(f"level {k}: {v}" for k, v in sorted(done.by_level.items()))
    failed = f"; {done.summaries_failed} LLM summaries failed (extract kept)" if done.summaries_failed else ""
    typer.echo(f"{done.communities} communities: {levels}{failed}")


MAX_LISTED_NAMES = 5


@graph_app.command("communities")
def communities(
    level: Annotated[int | None, typer.Option(help="Only this level (0 = finest).", min=0)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the community hierarchy with summaries, largest first within each level."""
    try:
        store = _open_store()
        try:
            found = sorted(store.get_communities(level), key=lambda c: (c.level, -c.size, c.id))
        finally:
            store.close()
    except AmalgamError as exc:
        _fail(exc)
    if as_json:
        fields = ("id", "level", "title", "summary", "size", "chunk_count", "entity_names", "stale")
        typer.echo(json.dumps([c.model_dump(include=set(fields)) for c in found], indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo("no communities yet: ingest documents (or run `amalgam graph rebuild-communities`)")
        return
    for c in found:
        stale = " (stale)" if c.stale else ""
        typer.echo(f"[level {c.level}] {c.title}  size={c.size} chunks={c.chunk_count}{stale}  id={c.id}")
        typer.echo(f"    {c.summary[:300]}")
