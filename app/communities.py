"""Communities kept fresh: after every ingest or delete that changed the graph, the community hierarchy
is brought up to date and the summaries' vectors (global search's index) with it.

Two ways. A full rebuild reads the whole graph and runs Leiden over it; on the 17.6k-passage workspace that
took 22 s per ingest call, whatever the ingest's size (docs/benchmarks.md, "Growth"). So after an ingest,
which only adds, the hierarchy is extended instead (``graph/hierarchy/incremental.py``): the new entities
join their neighbours' communities and only the level-0 communities the new chunks touch are recomputed,
reading the graph around them; their ancestors follow. What that misses (edges between communities
already placed, a community that should split or merge) the full rebuild catches up on. It runs when the
chunks written since the last one exceed ``communities_rebuild_share`` of the chunks it saw, after any
delete (a delete marks communities stale and can leave them without entities), on the first refresh of a
workspace, and whenever the store holds other chunks than the last refresh left plus this ingest's (an
interrupted ingest, ``communities=off`` in between).

Either way a community whose entities did not change keeps its id, so its LLM summary is reused and its
summary vector comes from the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from app.config import Settings
from graph.hierarchy.communities import levels_of, rebuild_communities
from graph.hierarchy.incremental import extend_communities
from graph.hierarchy.summaries import SummaryTally
from graph.models import Community
from graph.store.base import GraphStore
from ingest.embedder import Embedder
from retrieval.communities import summary_vectors
from retrieval.index.indexset import IndexSet, mark_changed

log = logging.getLogger(__name__)

STATE_FILE = "communities.json"


class CommunityRefresh(BaseModel):
    """What a refresh did: how many communities by level, LLM summaries written or failed, seconds spent."""

    communities: int = 0
    by_level: dict[int, int] = Field(default_factory=dict)
    summaries_written: int = 0
    summaries_failed: int = 0  # those communities keep their extractive summary
    seconds: float = 0.0
    mode: Literal["full", "extended"] = "full"


class RefreshState(BaseModel):
    """What the last refresh saw: the store's chunks then, and at the last full rebuild."""

    chunks: int
    chunks_at_rebuild: int


def refresh_communities(
    settings: Settings,
    store: GraphStore,
    embedder: Embedder,
    summarize: Callable[[str, list[str]], str] | None = None,
    *,
    seed: int = 42,
    new_chunk_ids: Collection[str] | None = None,
) -> CommunityRefresh:
    """Bring the hierarchy up to date and warm the summary vectors. ``new_chunk_ids``: the chunks an ingest
    just wrote, when nothing else changed (None: rebuild in full)."""
    started = time.perf_counter()
    tally = SummaryTally()
    chunks = store.stats().chunks
    state_path = settings.workspace_dir / STATE_FILE
    state = _read_state(state_path)
    # The stored hierarchy is read only when extending it is possible at all (not on a first refresh or a delete).
    stored = store.get_communities() if new_chunk_ids is not None and state is not None else []
    share = settings.communities_rebuild_share
    if new_chunk_ids is not None and state is not None and _can_extend(state, chunks, new_chunk_ids, stored, share):
        communities = extend_communities(store, stored, new_chunk_ids, summarize=summarize, seed=seed, tally=tally)
        _write_changes(store, stored, communities)
        mode: Literal["full", "extended"] = "extended"
        state = RefreshState(chunks=chunks, chunks_at_rebuild=state.chunks_at_rebuild)
    else:
        communities = rebuild_communities(store, summarize=summarize, seed=seed, reuse_summaries=True, tally=tally)
        mode = "full"
        state = RefreshState(chunks=chunks, chunks_at_rebuild=chunks)
    _write_state(state_path, state)
    usable = [c for c in communities if c.summary.strip()]
    summary_vectors(usable, embedder.embed, settings.workspace_dir / IndexSet.SUBDIR)
    mark_changed(settings.workspace_dir / IndexSet.SUBDIR)  # open retrievers (any process) reopen with these
    if tally.failed:
        log.warning("%d community summaries failed; those communities keep their extract", tally.failed)
    return CommunityRefresh(
        communities=len(communities),
        by_level=levels_of(communities),
        summaries_written=tally.written,
        summaries_failed=tally.failed,
        seconds=round(time.perf_counter() - started, 3),
        mode=mode,
    )


def _can_extend(
    state: RefreshState, chunks: int, new_chunk_ids: Collection[str], stored: list[Community], share: float
) -> bool:
    """Whether extending the stored hierarchy is enough (see the module's docstring)."""
    if not stored or any(c.stale for c in stored):
        return False
    if chunks != state.chunks + len(set(new_chunk_ids)):
        return False  # the store changed in ways this refresh does not know about
    return chunks - state.chunks_at_rebuild <= share * state.chunks_at_rebuild


def _write_changes(store: GraphStore, stored: list[Community], communities: list[Community]) -> None:
    """Write only the communities that differ from the stored ones, and drop those that are gone."""
    before = {c.id: c for c in stored}
    changed = [c for c in communities if before.get(c.id) != c]
    store.update_communities(changed, sorted(before.keys() - {c.id for c in communities}))


def _read_state(path: Path) -> RefreshState | None:
    try:
        return RefreshState.model_validate_json(path.read_text())
    except (OSError, ValidationError):
        return None  # none yet, or unreadable: the next refresh rebuilds in full


def _write_state(path: Path, state: RefreshState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(state.model_dump_json())
