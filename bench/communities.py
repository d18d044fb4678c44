"""Where a full community rebuild's time goes, stage by stage, on a copy of an embedded workspace.

    python bench/communities.py --into ~/.cache/amalgam/eval-data --workspace eval-f555393462e26773

The workspace is copied to a temporary folder first (it is only read). Stages: reading the graph from the
store (entities with their mentions, relations with their evidence, chunks, each chunk's entities), counting
co-mention pairs into the weighted graph, Leiden, building the community records, writing them
(``replace_communities``), and the summary vectors (embedding only the summaries the cache lacks). The
extended refresh that replaced this after an ingest is timed by ``bench/ingest.py --into`` (its "communities
s" column), where the new chunks are real.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.config import load_settings  # noqa: E402
from app.services import get_embedder, open_store  # noqa: E402
from graph.hierarchy import communities as hierarchy  # noqa: E402
from graph.hierarchy.summaries import SummaryTally  # noqa: E402
from graph.models import Relation  # noqa: E402
from retrieval.communities import summary_vectors  # noqa: E402
from retrieval.index.indexset import IndexSet  # noqa: E402

T = TypeVar("T")
BATCH = 1000


def timed(stages: dict[str, float], name: str, work: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = work()
    stages[name] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--into", type=Path, required=True, help="data dir of an embedded workspace")
    parser.add_argument("--workspace", default="default")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amalgam-bench-communities-"))
    shutil.copytree(args.into / args.workspace, work / args.workspace)
    settings = load_settings(data_dir=work, workspace=args.workspace)
    store = open_store(settings)
    embedder = get_embedder(settings)
    embedder.embed(["warm up"])
    stages: dict[str, float] = {}
    entities = timed(stages, "read entities", lambda: sorted(store.iter_entities(BATCH), key=lambda e: e.id))
    ids = [e.id for e in entities]

    def read_relations() -> list[Relation]:
        found = {r.id: r for start in range(0, len(ids), BATCH) for r in store.relations_of(ids[start : start + BATCH])}
        return [found[k] for k in sorted(found)]

    relations = timed(stages, "read relations", read_relations)
    chunk_docs = timed(stages, "read chunks", lambda: {c.id: c.doc_id for c in store.iter_chunks(BATCH)})
    chunk_ids = list(chunk_docs)

    def mentions() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for start in range(0, len(chunk_ids), BATCH):
            for chunk_id, members in store.entities_of_chunks(chunk_ids[start : start + BATCH]).items():
                found[chunk_id] = sorted(set(members))
        return found

    chunk_entities = timed(stages, "read mentions", mentions)
    graph = timed(
        stages,
        "co-mention pairs, weighted graph",
        lambda: hierarchy.EntityGraph(
            entities, relations, hierarchy.co_mentions(chunk_entities), chunk_entities, chunk_docs
        ),
    )
    levels = timed(stages, "Leiden", lambda: hierarchy.leiden_levels(graph))
    # Extractive summaries, as a refresh without an LLM writes them (an LLM's are reused when unchanged).
    built = timed(stages, "build records", lambda: hierarchy._build(graph, levels, None, {}, SummaryTally()))
    timed(stages, "write (replace_communities)", lambda: store.replace_communities(built))
    usable = [c for c in built if c.summary.strip()]
    directory = work / args.workspace / IndexSet.SUBDIR
    timed(stages, "summary vectors", lambda: summary_vectors(usable, embedder.embed, directory))
    total = sum(stages.values())
    print(f"{len(entities)} entities, {len(relations)} relations, {len(chunk_ids)} chunks, {len(graph.edges)} edges")
    print(f"{len(built)} communities {hierarchy.levels_of(built)}")
    for name, seconds in stages.items():
        print(f"{name:<34}{seconds:>8.2f} s{100 * seconds / total:>7.1f}%")
    print(f"{'total':<34}{total:>8.2f} s")
    store.close()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
