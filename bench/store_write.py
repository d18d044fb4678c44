"""Graph-store write throughput: Neo4j batched ``UNWIND ... MERGE`` vs one MERGE per row, and the
embedded SQLite store, on the same data in the same run.

Data: the first ``--passages`` passages of the multi-hop corpus, split at sentence ends into chunks
of at most ~300 characters, embedded with all-MiniLM-L6-v2, entities and relations extracted with
the offline spaCy extractor (exact-name resolution: the benchmark is about writes, not fusion).
Each store writes documents, chunks (+ embeddings, HAS_CHUNK, NEXT), entities (+ embeddings),
mentions and relations into a fresh workspace; the figure is (nodes + relationships) per second.
"One MERGE per row" is the same store with ``batch_size=1``: one query and one transaction per row.

    HF_HUB_OFFLINE=1 python bench/store_write.py [--passages 300] [--batch-size 500] [--uri bolt://...]

Without ``--uri`` a throw-away Neo4j (docker/neo4j-local, auth off) is started on a free port.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph.models import EntityRecord, MentionRecord, RelationRecord, stable_id  # noqa: E402
from graph.store.base import GraphStore  # noqa: E402
from graph.store.registry import open_store  # noqa: E402
from ingest.models import Chunk, Document  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multihop" / "corpus.jsonl"
MAX_CHUNK_CHARS = 300


@dataclass
class Workload:
    documents: list[Document]
    chunks: list[Chunk]
    embedding_dim: int
    entities: list[EntityRecord]
    mentions: list[MentionRecord]
    relations: list[RelationRecord]

    def counts(self) -> tuple[int, int]:
        """(nodes, relationships) the graph model gets from this data."""
        next_links = len(self.chunks) - len(self.documents)
        distinct_relations = len({r.id for r in self.relations})
        nodes = len(self.documents) + len(self.chunks) + len(self.entities)
        return nodes, len(self.chunks) + next_links + len(self.mentions) + distinct_relations


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in re.finditer(r"(?<=[.!?])\s+", text):
        if match.start() - start >= MAX_CHUNK_CHARS * 0.6:
            spans.append((start, match.start()))
            start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def build_workload(passages: int) -> Workload:
    from graph.extraction.spacy import SpacyExtractor
    from retrieval.embeddings import SentenceTransformerEmbedder

    documents, chunks = [], []
    with CORPUS.open() as corpus:
        for line, _ in zip(corpus, range(passages), strict=False):
            row = json.loads(line)
            doc = Document.from_text(row["text"], source=f"{CORPUS}#{row['id']}", title=row["title"])
            documents.append(doc)
            chunks += [Chunk.from_span(doc, i, a, b, "sentences") for i, (a, b) in enumerate(sentence_spans(doc.text))]
    embedder = SentenceTransformerEmbedder()
    entities: dict[str, EntityRecord] = {}
    mentions: dict[tuple[str, str, str], MentionRecord] = {}
    relations: list[RelationRecord] = []
    for extraction in SpacyExtractor().extract(chunks):
        ids = {}
        for m in extraction.entities:
            entity_id = stable_id("ent", m.name.casefold())
            ids[m.name] = entity_id
            entities.setdefault(entity_id, EntityRecord(id=entity_id, name=m.name, type=m.type))
            mentions[(m.chunk_id, entity_id, m.name)] = MentionRecord(
                chunk_id=m.chunk_id, entity_id=entity_id, name=m.name, description=m.description
            )
        relations += [
            RelationRecord(source_id=ids[r.source], target_id=ids[r.target], type=r.type, chunk_id=r.chunk_id,
                           description=r.description)
            for r in extraction.relations
            if r.source in ids and r.target in ids
        ]  # fmt: skip
    names = list(entities.values())
    vectors = embedder.embed([e.name for e in names]).astype(float).tolist()
    entity_records = [e.model_copy(update={"embedding": v}) for e, v in zip(names, vectors, strict=True)]
    return Workload(documents, chunks, embedder.dim, entity_records, list(mentions.values()), relations)


def write_all(store: GraphStore, work: Workload) -> float:
    started = time.perf_counter()
    store.upsert_documents(work.documents)
    store.upsert_chunks(work.chunks)
    store.upsert_entities(work.entities)
    store.upsert_mentions(work.mentions)
    store.upsert_relations(work.relations)
    return time.perf_counter() - started


def measure(label: str, store: GraphStore, work: Workload) -> float:
    try:
        seconds = write_all(store, work)
        stats = store.stats()
    finally:
        store.clear()
        store.close()
    nodes, rels = work.counts()
    assert (stats.documents + stats.chunks + stats.entities) == nodes, (stats, nodes)
    rate = (nodes + rels) / seconds
    print(f"{label:<34} {seconds:8.2f} s  {rate:10,.0f} nodes+rels/s  ({nodes:,} nodes, {rels:,} rels)")
    return rate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--uri", default="", help="use a running Neo4j (auth off or --password)")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    print(f"building the workload from {args.passages} passages ...", flush=True)
    work = build_workload(args.passages)
    print(
        f"{len(work.documents)} documents, {len(work.chunks)} chunks, {len(work.entities)} entities, "
        f"{len(work.mentions)} mentions, {len(work.relations)} relation evidence rows"
    )
    dim = work.embedding_dim
    with tempfile.TemporaryDirectory() as folder:
        embedded = open_store("embedded", path=Path(folder) / "g.sqlite", workspace="bench", embedding_dim=dim)
        embedded_rate = measure("embedded (SQLite, executemany)", embedded, work)

        stop = None
        uri = args.uri
        if not uri:
            from app import neo4j_local

            home = Path(folder) / "neo4j"
            uri, _, _ = neo4j_local.start(home, port=free_port(), auth=False)
            stop = lambda: neo4j_local.stop(home)  # noqa: E731
        try:

            def neo4j(batch_size: int) -> GraphStore:
                return open_store(
                    "neo4j", uri=uri, user="neo4j", password=args.password, database="neo4j",
                    workspace=f"bench{uuid.uuid4().hex[:8]}", embedding_dim=dim, batch_size=batch_size,
                )  # fmt: skip

            measure("neo4j warm-up (batched, discarded)", neo4j(args.batch_size), work)
            batched = measure(f"neo4j UNWIND batches of {args.batch_size}", neo4j(args.batch_size), work)
            per_row = measure("neo4j one MERGE per row", neo4j(1), work)
        finally:
            if stop:
                stop()
    print(f"\nbatched / per-row on Neo4j: {batched / per_row:.1f}x")
    print(f"embedded / batched Neo4j:   {embedded_rate / batched:.1f}x")


if __name__ == "__main__":
    main()
