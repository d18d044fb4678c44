"""Communities kept fresh: after every ingest or delete that changed the graph, the community hierarchy
is recomputed and the summaries' vectors (global search's index) brought up to date.

Why a full Leiden rebuild rather than an incremental one: on the workspaces measured (docs/benchmarks.md,
"Global mode") reading the graph and running Leiden take seconds against minutes of ingest, and Leiden
gives no guarantee that the communities an edit did not touch stay put anyway. What is incremental is the
expensive part: a community whose entities did not change keeps its id, so its LLM summary is reused
(``reuse_summaries``) and its summary vector comes from the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from app.config import Settings
from graph.hierarchy.communities import levels_of, rebuild_communities
from graph.hierarchy.summaries import SummaryTally
from graph.store.base import GraphStore
from ingest.embedder import Embedder
from retrieval.communities import summary_vectors
from retrieval.index.indexset import IndexSet

log = logging.getLogger(__name__)


class CommunityRefresh(BaseModel):
    """What a refresh did: how many communities by level, LLM summaries written or failed, seconds spent."""

    communities: int = 0
    by_level: dict[int, int] = Field(default_factory=dict)
    summaries_written: int = 0
    summaries_failed: int = 0  # those communities keep their extractive summary
    seconds: float = 0.0


def refresh_communities(
    settings: Settings,
    store: GraphStore,
    embedder: Embedder,
    summarize: Callable[[str, list[str]], str] | None = None,
    *,
    seed: int = 42,
) -> CommunityRefresh:
    """Rebuild the hierarchy (reusing unchanged communities' LLM summaries) and warm the summary vectors."""
    started = time.perf_counter()
    tally = SummaryTally()
    communities = rebuild_communities(store, summarize=summarize, seed=seed, reuse_summaries=True, tally=tally)
    usable = [c for c in communities if c.summary.strip()]
    summary_vectors(usable, embedder.embed, settings.workspace_dir / IndexSet.SUBDIR)
    if tally.failed:
        log.warning("%d community summaries failed; those communities keep their extract", tally.failed)
    return CommunityRefresh(
        communities=len(communities),
        by_level=levels_of(communities),
        summaries_written=tally.written,
        summaries_failed=tally.failed,
        seconds=round(time.perf_counter() - started, 3),
    )
