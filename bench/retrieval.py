"""Retrieval latency as the corpus grows (1k passages -> the full 17.6k multihop corpus), same run.

Index-bound signals only (dense, BM25, dense+BM25 fused, TreeHop when its weights ship), plus the exact
vs HNSW dense index at the full size. Latency includes embedding the question (what a user waits for).
Graph and full-hybrid latency at full size come from ``amalgam eval multihop`` (they need the graph).

    HF_HUB_OFFLINE=1 python -m bench.retrieval [--queries 100] [--torch-threads 1]   (as a module: a script
    named retrieval.py would shadow the retrieval package)
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from retrieval.embeddings import SentenceTransformerEmbedder  # noqa: E402
from retrieval.evaluate import load_corpus, load_corpus_embeddings, load_questions  # noqa: E402
from retrieval.fusion import weighted_rrf  # noqa: E402
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
    args = parser.parse_args()
    if args.torch_threads > 0:
        import torch

        torch.set_num_threads(args.torch_threads)
    embedder = SentenceTransformerEmbedder()
    passages = load_corpus()
    vectors = load_corpus_embeddings(embedder, passages)
    questions = [q.question for q in load_questions(split="dev")][: args.queries]
    print(f"{len(questions)} dev questions; p50 / p95 ms per question (embedding included)\n")
    print("| passages | dense | bm25 | dense+bm25 | treehop |")
    print("|---|---|---|---|---|")
    for size in (1000, 5000, len(passages)):
        print(f"| {size} | {measure_size(embedder, passages, vectors, questions, size)} |")
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
