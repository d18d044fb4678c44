"""Ingest throughput on both stores, against the embedding model alone (the physical floor), same run.

    python bench/ingest.py [--passages 1000] [--neo4j-uri bolt://127.0.0.1:7697]

Passages come from ../shared/datasets/multihop/corpus.jsonl. Without --neo4j-uri a throw-away local
Neo4j is started (docker/neo4j-local) on port 7698 and stopped afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.config import load_settings  # noqa: E402
from app.engine import Engine  # noqa: E402

CORPUS = REPO.parent / "shared" / "datasets" / "multihop" / "corpus.jsonl"


def write_sample(path: Path, passages: int) -> list[str]:
    with CORPUS.open() as source:
        rows = [json.loads(line) for line in itertools.islice(source, passages)]
    path.write_text("".join(json.dumps({"id": r["id"], "title": r["title"], "text": r["text"]}) + "\n" for r in rows))
    return [f"{r['title']}\n\n{r['text']}" for r in rows]


def time_ingest(engine: Engine, corpus: Path) -> tuple[float, int]:
    started = time.perf_counter()
    report = engine.ingest([corpus])
    return time.perf_counter() - started, report.chunks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--neo4j-uri", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amalgam-bench-"))
    texts = write_sample(work / "corpus.jsonl", args.passages)

    embedded = Engine(load_settings(data_dir=work / "embedded"))
    embedded.embedder.embed(texts[:32])  # load and warm the model outside the timings
    started = time.perf_counter()
    embedded.embedder.embed(texts)
    embed_rate = len(texts) / (time.perf_counter() - started)

    rows = [("embedding only (floor)", embed_rate)]
    seconds, chunks = time_ingest(embedded, work / "corpus.jsonl")
    rows.append(("ingest, embedded store", chunks / seconds))
    embedded.close()

    uri, stop = args.neo4j_uri, None
    if not uri:
        from app import neo4j_local

        home = work / "neo4j"
        uri, _, _ = neo4j_local.start(home, port=7698, auth=False)
        stop = lambda: neo4j_local.stop(home)  # noqa: E731
    try:
        settings = load_settings(data_dir=work / "neo4j-data", graph_backend="neo4j", neo4j_uri=uri,
                                 neo4j_password="unused", workspace="bench")
        neo = Engine(settings)
        neo.store.clear()
        seconds, chunks = time_ingest(neo, work / "corpus.jsonl")
        rows.append(("ingest, neo4j store", chunks / seconds))
        neo.store.clear()
        neo.close()
    finally:
        if stop:
            stop()

    print(f"{args.passages} passages (one chunk each), spaCy extraction, 2 CPU cores")
    print(f"{'path':<26}{'chunks/s':>10}{'ratio to floor':>16}")
    for name, rate in rows:
        print(f"{name:<26}{rate:>10.1f}{rate / embed_rate:>16.2f}")


if __name__ == "__main__":
    main()
