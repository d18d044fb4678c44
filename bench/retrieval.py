"""Retrieval latency as the corpus grows (1k passages -> the full 17.6k multihop corpus), same run.

Index-bound signals (dense, BM25, dense+BM25 fused, TreeHop when its weights ship), plus the exact vs HNSW
dense index at the full size. Latency includes embedding the question (what a user waits for). With
``--hybrid`` also the full hybrid retriever (graph signals and the learned fusion included) over a workspace
of each size, ingested once by the product's pipeline under the user's settings and cached (the full size is
``amalgam eval multihop``'s workspace).

    HF_HUB_OFFLINE=1 python -m bench.retrieval [--queries 100] [--torch-threads 1] [--hybrid]   (as a module:
    a script named retrieval.py would shadow the retrieval package)
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.evaluation.datasets import load_passages, load_questions  # noqa: E402
from app.evaluation.treehop_data import DEFAULT_CACHE_ROOT, cache_dir_for, corpus_embeddings  # noqa: E402
from retrieval.embeddings import SentenceTransformerEmbedder  # noqa: E402
from retrieval.fusion.rrf import weighted_rrf  # noqa: E402
from retrieval.index.faiss import FaissIndex  # noqa: E402
from retrieval.retriever import load_treehop  # noqa: E402
from retrieval.sparse import BM25Index  # noqa: E402
from retrieval.types import Query  # noqa: E402


def _timed(fn: Callable[[str], object], questions: list[str]) -> tuple[float, float]:
    fn(questions[0])  # warm-up
    times = []
    for q in questions:
        started = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--torch-threads", type=int, default=0, help="1 avoids oversubscription on a busy box")
    parser.add_argument("--hybrid", action="store_true", help="also time the full hybrid (builds graph workspaces)")
    args = parser.parse_args()
    if args.torch_threads > 0:
        import torch

        torch.set_num_threads(args.torch_threads)
    embedder = SentenceTransformerEmbedder()
    passages = load_passages()
    cache = cache_dir_for(DEFAULT_CACHE_ROOT, embedder.model_name)
    vectors = corpus_embeddings(passages, embedder, cache, embedder.model_name)  # one vector per passage
    questions = [q.question for q in load_questions(split="dev")][: args.queries]
    print(f"{len(questions)} dev questions; p50 / p95 ms per question (embedding included)\n")
    hybrid_columns = " treehop (mentions) | hybrid |" if args.hybrid else ""
    print("| passages | dense | bm25 | dense+bm25 | treehop (passage model) |" + hybrid_columns)
    print("|---|---|---|---|---|" + ("---|---|" if args.hybrid else ""))
    for size in (1000, 5000, len(passages)):
        row = measure_size(embedder, passages, vectors, questions, size)
        if args.hybrid:
            row += " | " + measure_hybrid(passages, questions, size)
        print(f"| {size} | {row} |")
    exact_vs_ann(embedder, passages, vectors, questions)


def measure_size(embedder, passages, vectors, questions, size: int) -> str:  # type: ignore[no-untyped-def]
    ids = [p.id for p in passages[:size]]
    dense = FaissIndex(embedder.dim)
    dense.add(ids, vectors[:size])
    sparse = BM25Index()
    sparse.add(ids, [p.full_text for p in passages[:size]])
    sparse.search("warm up", 1)  # build outside the timing
    treehop = load_treehop(dense, embedder.dim)

    def q(text: str) -> Query:
        return Query(text, embedder.embed([text])[0])

    def fused(text: str) -> object:
        query = q(text)
        return weighted_rrf({"dense": dense.search(query.embedding, 50), "bm25": sparse.search(text, 50)})

    cells = [
        _timed(lambda t: dense.search(q(t).embedding, 10), questions),
        _timed(lambda t: sparse.search(t, 10), questions),
        _timed(fused, questions),
        _timed(lambda t: treehop.search(q(t), 10), questions) if treehop else None,
    ]
    return " | ".join(f"{c[0]:.1f} / {c[1]:.1f}" if c else "n/a" for c in cells)


def measure_hybrid(passages, questions, size: int) -> str:  # type: ignore[no-untyped-def]
    """p50 / p95 of TreeHop with mention queries and of the hybrid retriever's ranking, over the workspace
    that ingest builds from the first ``size`` passages (entity names embedded beforehand)."""
    from app.config import load_settings
    from app.evaluation.workspace import open_workspace, warm_entity_names

    workspace = open_workspace(load_settings(treehop_context="mentions"), passages[:size])
    try:
        warm_entity_names(workspace)
        retriever = workspace.retriever
        cells = [
            _timed(lambda t: retriever.rank(t, k=10, mode="multihop", signals=("treehop",)), questions),
            _timed(lambda t: retriever.rank(t, k=10, mode="hybrid"), questions),
        ]
    finally:
        workspace.close()
    return " | ".join(f"{p50:.1f} / {p95:.1f}" for p50, p95 in cells)


def exact_vs_ann(embedder, passages, vectors, questions) -> None:  # type: ignore[no-untyped-def]
    ids = [p.id for p in passages]
    query_vectors = embedder.embed(questions)
    exact = FaissIndex(embedder.dim)
    exact.add(ids, vectors)
    ann = FaissIndex(embedder.dim, ann="hnsw", ann_threshold=1)
    ann.add(ids, vectors)
    ann.search(query_vectors[0], 1)  # build outside the timing
    results = {}
    for name, index in (("exact", exact), ("hnsw", ann)):
        started = time.perf_counter()
        hits = [index.search(v, 10) for v in query_vectors]
        results[name] = ((time.perf_counter() - started) * 1000 / len(questions), hits)
    overlap = np.mean(
        [
            len({h.chunk_id for h in a} & {h.chunk_id for h in b}) / 10
            for a, b in zip(results["exact"][1], results["hnsw"][1], strict=True)
        ]
    )
    print(
        f"\nfull corpus, search only: exact {results['exact'][0]:.2f} ms, HNSW {results['hnsw'][0]:.2f} ms "
        f"(ratio {results['exact'][0] / results['hnsw'][0]:.1f}x), "
        f"HNSW top-10 overlap with exact {100 * overlap:.1f}%"
    )


if __name__ == "__main__":
    main()
