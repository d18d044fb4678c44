"""The workspace's communities as global search reads them: records in memory, summary vectors and a BM25
index over their titles and summaries, and which communities (at every level) hold each entity.

Summary vectors are cached in ``index/community_vectors.npz`` by the hash of the text they embed, so a
refresh after an ingest embeds only the summaries that changed, and opening a retriever embeds none
(``CommunityIndex.open`` embeds what the cache lacks, then writes the cache for the next open).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from graph.models import Community
from graph.store.base import GraphStore
from retrieval.files import save_npz_atomically
from retrieval.sparse import BM25Index

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]
VECTORS_FILE = "community_vectors.npz"


def summary_text(community: Community) -> str:
    """What a community is searched by: its title (its hubs' names) and its summary."""
    return f"{community.title}. {community.summary}"


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class CommunityIndex:
    """Searchable communities; ``skipped`` counts those left out because they have no summary."""

    def __init__(self, communities: Sequence[Community], vectors: np.ndarray, skipped: int = 0) -> None:
        self.communities = list(communities)
        self.by_id = {c.id: c for c in self.communities}
        self.vectors = vectors  # (n, dim), rows L2-normalised, in ``communities`` order
        self.skipped = skipped
        self.bm25 = BM25Index()
        if self.communities:
            self.bm25.add([c.id for c in self.communities], [summary_text(c) for c in self.communities])
            self.bm25.search(self.communities[0].title, 1)  # built now, not by the first of concurrent questions
        self.of_entity = _entity_memberships(self.communities)
        self.total_entities = sum(c.size for c in self.communities if c.level == 0)

    def __len__(self) -> int:
        return len(self.communities)

    @classmethod
    def open(cls, store: GraphStore, embed: Embed, directory: Path | None = None) -> CommunityIndex:
        """The store's communities with their summary vectors (cached under ``directory`` when given)."""
        stored = store.get_communities()
        usable = [c for c in stored if c.summary.strip()]
        if len(usable) < len(stored):
            log.warning("%d communities have no summary; global search skips them", len(stored) - len(usable))
        vectors = summary_vectors(usable, embed, directory)
        return cls(usable, vectors, skipped=len(stored) - len(usable))

    def ancestors(self, community_id: str) -> list[str]:
        """The community's parent, its parent's parent, ... (nearest first)."""
        chain: list[str] = []
        parent = self.by_id[community_id].parent_id if community_id in self.by_id else None
        while parent is not None and parent in self.by_id and parent not in chain:
            chain.append(parent)
            parent = self.by_id[parent].parent_id
        return chain


def _entity_memberships(communities: Sequence[Community]) -> dict[str, list[str]]:
    """Entity id -> the ids of the communities holding it, level 0 first, then each ancestor."""
    by_id = {c.id: c for c in communities}
    memberships: dict[str, list[str]] = defaultdict(list)
    for community in communities:
        if community.level != 0:
            continue
        chain, current = [community.id], community.parent_id
        while current is not None and current in by_id and current not in chain:
            chain.append(current)
            current = by_id[current].parent_id
        for entity_id in community.members:
            memberships[entity_id].extend(chain)
    return dict(memberships)


def summary_vectors(communities: Sequence[Community], embed: Embed, directory: Path | None) -> np.ndarray:
    """One vector per community, from the cache where its text is unchanged, else embedded now."""
    texts = [summary_text(c) for c in communities]
    keys = [_key(t) for t in texts]
    cached = _read_cache(directory / VECTORS_FILE) if directory is not None else {}
    missing = [i for i, key in enumerate(keys) if key not in cached]
    if missing:
        fresh = np.asarray(embed([texts[i] for i in missing]), dtype=np.float32)
        for i, vector in zip(missing, fresh, strict=True):
            cached[keys[i]] = vector
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    matrix = np.stack([cached[key] for key in keys]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    if directory is not None and missing:
        _write_cache(directory / VECTORS_FILE, keys, matrix)
    return matrix


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    try:
        with np.load(path) as data:
            return {str(key): vector for key, vector in zip(data["keys"], data["vectors"], strict=True)}
    except (OSError, ValueError, KeyError):
        log.warning("the community vector cache is unreadable; summaries are embedded again")
        return {}


def _write_cache(path: Path, keys: list[str], matrix: np.ndarray) -> None:
    """Only the current summaries' vectors: the cache never grows past the workspace's communities."""
    save_npz_atomically(path, keys=np.array(keys), vectors=matrix)
