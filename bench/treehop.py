"""TreeHop vs dense-only retrieval on the multi-hop data set: recall per data set and latency, same run.

    HF_HUB_OFFLINE=1 python bench/treehop.py [--split dev] [--compare-sources] [--tune] [--epochs 20]

The whole corpus (17,588 passages, one passage = one chunk) is the pool. Recall@2/5/10 of the
supporting passages for dense, the shipped TreeHop model and the oracle (ideal next queries from gold
passages: the ceiling of the search and ranking scheme); with --compare-sources also for models
trained on the train split only, generated hops only, and both; with --tune the train-split (2-fold)
table that chose the merged ranking's weights. Latency: p50/p95 of dense search vs TreeHop search over
precomputed query embeddings, and end to end with the question embedded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.evaluation.datasets import DEFAULT_DATASET  # noqa: E402
from app.evaluation.treehop_data import DEFAULT_CACHE_ROOT, DEFAULT_EMBEDDER, cache_dir_for  # noqa: E402
from app.evaluation.treehop_metrics import (  # noqa: E402  # noqa: E402
    DenseRetriever,
    corpus_index,
    oracle_recall_table,
    percentile,
    recall_rows,
    recall_table,
)
from app.evaluation.treehop_recipe import Corpus, load_corpus, run_training  # noqa: E402
from app.evaluation.treehop_train import TrainConfig  # noqa: E402
from app.evaluation.treehop_tuning import baselines, cross_fit, fold_models, grid, objective  # noqa: E402
from retrieval.embeddings import SentenceTransformerEmbedder  # noqa: E402
from retrieval.treehop.model import TreeHopModel  # noqa: E402
from retrieval.treehop.search import HOP_OFFSET, PATH_WEIGHT, QUESTION_WEIGHT, TreeHopRetriever  # noqa: E402
from retrieval.types import Query  # noqa: E402


def compare_sources(corpus: Corpus, embedder: SentenceTransformerEmbedder, args: argparse.Namespace) -> None:
    index = corpus_index(corpus)
    questions, vectors = corpus.split(args.split)
    dense = recall_table(DenseRetriever(index), questions, vectors)
    print(f"\n## Training data vs {args.split} recall@5 (dense | TreeHop)\n")
    print("| training data | chains | train time | " + " | ".join(dense) + " |")
    print("|---" * (len(dense) + 3) + "|")
    print("| none (dense only) | - | - | " + " | ".join(f"{dense[g][5]:.1f}" for g in dense) + " |")
    cache = cache_dir_for(args.cache, DEFAULT_EMBEDDER)
    for sources in (("train",), ("generated",), ("train", "generated")):
        started = time.perf_counter()
        run = run_training(
            corpus,
            embedder,
            cache,
            DEFAULT_EMBEDDER,
            sources=sources,
            train_config=TrainConfig(epochs=args.epochs),
        )
        seconds = time.perf_counter() - started
        if args.save_dir:
            run.model.save(args.save_dir / "+".join(sources))
        tree = recall_table(TreeHopRetriever(index, run.model), questions, vectors)
        cells = " | ".join(f"{tree[g][5]:.1f}" for g in tree)
        print(f"| {'+'.join(sources)} | {sum(run.chains.values())} | {seconds:.0f} s | {cells} |", flush=True)


def tune(corpus: Corpus, embedder: SentenceTransformerEmbedder, args: argparse.Namespace) -> None:
    """The train-split table behind the merged ranking's default weights (never dev)."""
    index = corpus_index(corpus)
    cache = cache_dir_for(args.cache, DEFAULT_EMBEDDER)
    models = fold_models(corpus, embedder, cache, DEFAULT_EMBEDDER, TrainConfig(epochs=args.epochs))
    print("\n## Train split, 2-fold (each question searched by the model trained on the other half), R@5\n")
    knobs = "| ranking | path_weight | question_weight | hop_offset |"
    print(knobs + " 2wikimultihopqa | hotpotqa | musique | all | goal mean |")
    print("|---" * 9 + "|")

    def row(name: str, knobs: tuple[str, str, str], table: dict[str, float]) -> None:
        cells = " | ".join(
            f"{table.get(g, float('nan')):.1f}" for g in ("2wikimultihopqa", "hotpotqa", "musique", "all")
        )
        print(f"| {name} | {' | '.join(knobs)} | {cells} | {objective(table):.2f} |", flush=True)

    for path_weight in (0.0, 0.5, 1.0):
        searched = cross_fit(corpus, index, models, path_weight)
        if path_weight == 0.0:
            for name, table in baselines(searched, index).items():
                row(name, ("-", "-", "-"), table)
        for question_weight, offset, _, table in grid(searched, path_weight)[:3]:
            row("merged", (f"{path_weight:g}", f"{question_weight:g}", f"{offset:g}"), table)
        if path_weight == PATH_WEIGHT:
            chosen = grid(searched, PATH_WEIGHT, (QUESTION_WEIGHT,), (HOP_OFFSET,))[0]
            row("merged (shipped default)", (f"{PATH_WEIGHT:g}", f"{QUESTION_WEIGHT:g}", f"{HOP_OFFSET:g}"), chosen[3])


def latency(corpus: Corpus, model: TreeHopModel, embedder: SentenceTransformerEmbedder, split: str) -> None:
    index = corpus_index(corpus)
    questions, vectors = corpus.split(split)
    dense, tree = DenseRetriever(index), TreeHopRetriever(index, model)
    for warm in vectors[:20]:  # warm BLAS and torch before timing
        dense.search(Query("", warm), 10), tree.search(Query("", warm), 10)
    timings: dict[str, list[float]] = {"dense": [], "treehop": [], "dense+embed": [], "treehop+embed": []}
    for question, vector in zip(questions, vectors, strict=True):
        for name, retriever in (("dense", dense), ("treehop", tree)):
            started = time.perf_counter()
            retriever.search(Query(question.question, vector), 10)
            timings[name].append(1000 * (time.perf_counter() - started))
    for question in questions[:100]:  # end to end: the question is embedded first, as in `amalgam ask`
        for name, retriever in (("dense+embed", dense), ("treehop+embed", tree)):
            started = time.perf_counter()
            retriever.search(Query(question.question, embedder.embed([question.question])[0]), 10)
            timings[name].append(1000 * (time.perf_counter() - started))
    print(f"\n## Latency ({len(index)} passages, {split} questions, ms)\n")
    print("| search | n | p50 | p95 | p50 ratio to dense |\n|---|---|---|---|---|")
    for name, values in timings.items():
        base = timings["dense+embed" if "embed" in name else "dense"]
        ratio = percentile(values, 50) / percentile(base, 50)
        print(
            f"| {name} | {len(values)} | {percentile(values, 50):.2f} | {percentile(values, 95):.2f} | {ratio:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE_ROOT)
    parser.add_argument("--weights", type=Path, default=None, help="model dir (default: shipped weights)")
    parser.add_argument("--compare-sources", action="store_true", help="train 3 models and compare their recall")
    parser.add_argument(
        "--train-to", type=Path, default=None, help="train the recipe's model, save it here, measure it"
    )
    parser.add_argument("--only-tune", action="store_true", help="stop after --tune")
    parser.add_argument("--tune", action="store_true", help="train 2 fold models, print the train-split tuning table")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--save-dir", type=Path, default=None, help="keep the --compare-sources models here")
    args = parser.parse_args()

    embedder = SentenceTransformerEmbedder(DEFAULT_EMBEDDER, device="cpu")
    corpus = load_corpus(args.data, embedder, cache_dir_for(args.cache, DEFAULT_EMBEDDER), DEFAULT_EMBEDDER)
    if args.compare_sources:
        compare_sources(corpus, embedder, args)
    if args.tune:
        tune(corpus, embedder, args)
        if args.only_tune:
            return
    if args.train_to:
        started = time.perf_counter()
        cache = cache_dir_for(args.cache, DEFAULT_EMBEDDER)
        run = run_training(corpus, embedder, cache, DEFAULT_EMBEDDER, train_config=TrainConfig(epochs=args.epochs))
        run.model.save(args.train_to)
        print(f"\ntrained {run.chains} in {time.perf_counter() - started:.0f} s, saved to {args.train_to}")
        args.weights = args.train_to
    model = TreeHopModel.load(args.weights) if args.weights else TreeHopModel.load_default()
    index = corpus_index(corpus)
    questions, vectors = corpus.split(args.split)
    dense = recall_table(DenseRetriever(index), questions, vectors)
    tree = recall_table(TreeHopRetriever(index, model), questions, vectors)
    print(f"## Recall on {args.split} ({len(questions)} questions, pool {len(index)} passages)")
    print(f"model: {model.config.training}\n")
    print("\n".join(recall_rows(dense, tree)))
    oracle = oracle_recall_table(index, model, questions, vectors)
    print("\nOracle (ideal next query from a gold passage), recall@2/5/10:")
    for group, by_k in oracle.items():
        print(f"| {group} | " + " | ".join(f"{by_k[k]:.1f}" for k in sorted(by_k)) + " |")
    latency(corpus, model, embedder, args.split)


if __name__ == "__main__":
    main()
