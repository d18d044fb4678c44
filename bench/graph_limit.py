"""The graph signal's subgraph bound, chosen on the train split: hybrid R@5 and latency per bound, same run.

    python bench/graph_limit.py [--limits 2000 1000 500] [--split train] [--torch-threads 1]

The graph retriever reads the entities within one hop of the question's entities, at most ``subgraph_limit``
of them, with every chunk they are named in. Around a hub entity that is thousands of chunks, and PPR,
proximity and FastRP then run over all of them: the bound is where the graph signal's cost grows with the
workspace. Each bound is scored on the same questions over the workspace ``amalgam eval multihop`` builds
(the product's ingest, cached), with the shipped fusion. Tune on train; dev is for reporting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.evaluation.datasets import first_per_dataset  # noqa: E402
from app.evaluation.metrics import METHODS, evaluate  # noqa: E402
from app.evaluation.multihop import open_eval  # noqa: E402
from app.runtime import limit_threads  # noqa: E402

DATASET = REPO.parent / "shared" / "datasets" / "multihop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limits", type=int, nargs="+", default=[2000, 1000, 500])
    parser.add_argument("--split", default="train")
    parser.add_argument("--per-dataset", type=int, default=None, help="only the first N questions of each dataset")
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()
    limit_threads(args.torch_threads)
    run = open_eval(DATASET, args.split)  # the whole corpus: the same workspace as every other eval
    questions = first_per_dataset(run.questions, args.per_dataset)
    retriever = run.workspace.retriever
    texts = {p.id: p.full_text for p in run.passages}
    methods = {"hybrid": METHODS["hybrid"]}
    print(f"{len(questions)} {args.split} questions, {len(run.workspace.chunk_to_passage)} chunks")
    print(f"{'subgraph limit':>15}{'R@2':>7}{'R@5':>7}{'R@10':>7}{'p50 ms':>9}{'p95 ms':>9}")
    try:
        for limit in args.limits:
            retriever.graph.subgraph_limit = limit
            retriever.rank(questions[0].question, k=10)  # warm-up
            row = evaluate(retriever, questions, run.workspace.chunk_to_passage, texts, methods)["hybrid"]
            overall = row["overall"].row()
            print(
                f"{limit:>15}{overall['R@2']:>7.1f}{overall['R@5']:>7.1f}{overall['R@10']:>7.1f}"
                f"{overall['p50 ms']:>9.1f}{overall['p95 ms']:>9.1f}"
            )
    finally:
        run.workspace.close()


if __name__ == "__main__":
    main()
