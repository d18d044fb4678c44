"""Where an expert's training text comes from: a top-level community of the workspace's graph (its chunks),
or a folder of documents per domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import ConfigError
from graph.models import Community
from graph.store.base import GraphStore
from ingest.loaders.registry import SUPPORTED_EXTENSIONS, load_path


@dataclass
class Domain:
    """A named body of text to specialise on, with what the registry says about the expert trained on it."""

    name: str
    texts: list[str]
    description: str = ""
    communities: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # ids: the same as in a workspace that ingested them


def top_level_communities(store: GraphStore) -> list[Community]:
    """The roots of the hierarchy (no parent), largest first."""
    roots = [c for c in store.get_communities() if c.parent_id is None]
    return sorted(roots, key=lambda c: (-c.size, c.id))


def entity_to_root(communities: Sequence[Community]) -> dict[str, str]:
    """Each entity id → the id of the top-level community it belongs to (level-0 members walked upwards)."""
    parent = {c.id: c.parent_id for c in communities}
    mapping: dict[str, str] = {}
    for community in communities:
        if community.level != 0:
            continue
        root = community.id
        while parent.get(root):
            root = parent[root]  # type: ignore[assignment]
        for entity_id in community.members:
            mapping[entity_id] = root
    return mapping


def domains_from_communities(store: GraphStore, wanted: Sequence[str] = (), limit: int = 2) -> list[Domain]:
    """The chosen top-level communities (by id or title), else the ``limit`` largest, each with the text of
    every chunk that mentions one of its entities."""
    roots = top_level_communities(store)
    chosen = [c for c in roots if c.id in wanted or c.title in wanted] if wanted else roots[:limit]
    missing = set(wanted) - {c.id for c in chosen} - {c.title for c in chosen}
    if missing:
        known = ", ".join(f"{c.id} ({c.title})" for c in roots[:20])
        raise ConfigError(f"no top-level community {sorted(missing)}; top-level communities: {known}")
    root_of = entity_to_root(store.get_communities())
    texts: dict[str, list[str]] = {c.id: [] for c in chosen}
    for batch in _batches(store.iter_chunks(), 500):
        mentions = store.entities_of_chunks([c.id for c in batch])
        for chunk in batch:
            for root in {root_of.get(e) for e in mentions.get(chunk.id, [])} & set(texts):
                texts[root].append(chunk.text)  # type: ignore[index]
    return [
        Domain(name=_slug(c.title or c.id), texts=texts[c.id], description=_describe(c), communities=[c.id])
        for c in chosen
    ]


def domains_from_folder(folder: Path) -> list[Domain]:
    """One domain per sub-folder, named after it, with the text of every document inside."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder (expected one sub-folder of documents per domain)")
    domains = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(p for p in sub.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS)
        documents = [d for f in files for d in load_path(f)]
        # a document's id is its text's hash, so these ids find the same documents in any workspace that
        # ingested them (wherever from), which is how the graph router maps communities to this expert
        domains.append(
            Domain(
                name=_slug(sub.name),
                texts=[d.text for d in documents],
                description=f"Documents of {sub.name}",
                documents=sorted({d.id for d in documents}),
            )
        )
    if not domains:
        raise ConfigError(f"{folder} has no sub-folders; put each domain's documents in a folder of its own")
    return domains


def _describe(community: Community) -> str:
    return f"{community.title}: {community.summary}".strip(": ")


def _slug(text: str) -> str:
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in text).split()
    return "-".join(words[:4]) or "domain"


def _batches(items: Iterable, size: int) -> Iterable[list]:  # type: ignore[type-arg]
    batch: list = []  # type: ignore[type-arg]
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
