"""The product path end to end, as a new user meets it: ingest, serve, ask over REST, score the citations.

A sample of dev questions (``--per-dataset`` from each dataset) gives the corpus: their context passages
(gold and distractors) written as one JSONL file and ingested by ``Engine.ingest`` (the code ``amalgam
ingest`` runs) under the user's settings, in the evaluation's cached workspace (the one
``amalgam eval multihop --limit-questions N`` builds and reuses); then ``amalgam serve`` over that workspace
answers every question over ``POST /v1/ask`` in each mode. Each cited source's ``source`` field ends in
``#<passage id>`` (the JSONL row id), which maps it back to its passage.

    python bench/product.py [--per-dataset 50] [--modes dense hybrid] [--split dev]

Prints R@5 of the gold supporting passages per dataset and mode, the answer hit rate (the gold answer or an
alias appears in the answer text), latency, and errors; dense in the same run is the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from serving import start_server, stop_server  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "multihop"
K = 5


def build(dataset_dir: Path, split: str, per_dataset: int) -> tuple[list[dict], str, Path, dict | None]:
    """The questions, and the workspace of their context passages built by the product's ingest."""
    from app.config import load_settings
    from app.evaluation.datasets import context_passages, first_per_dataset, load_passages, load_questions
    from app.evaluation.workspace import build_record, open_workspace

    settings = load_settings()
    chosen = first_per_dataset(load_questions(dataset_dir, split), per_dataset)
    workspace = open_workspace(settings, context_passages(load_passages(dataset_dir), chosen))
    name, data_dir, record = (
        workspace.engine.settings.workspace,
        settings.data_dir,
        build_record(workspace.engine.settings),
    )
    workspace.close()
    wanted = {q.id for q in chosen}
    rows = [json.loads(line) for line in (dataset_dir / "questions.jsonl").open()]
    return [r for r in rows if r["id"] in wanted], name, data_dir, record


def passage_of(source: str) -> str:
    return source.rsplit("#", 1)[-1]


def answer_hit(answer: str, question: dict) -> bool:
    text = " ".join(answer.casefold().split())
    golds = [question["answer"], *question.get("answer_aliases", [])]
    return any(" ".join(g.casefold().split()) in text for g in golds if g.strip())


def ask_all(base: str, questions: list[dict], mode: str) -> dict[str, list]:
    scores: dict[str, list] = defaultdict(list)
    with httpx.Client(base_url=base, timeout=300) as client:
        for q in questions:
            started = time.perf_counter()
            try:
                response = client.post("/v1/ask", json={"question": q["question"], "top_k": K, "mode": mode})
            except httpx.HTTPError:
                scores["errors"].append(1)
                continue
            if response.status_code != 200:
                scores["errors"].append(1)
                continue
            scores["latency"].append((time.perf_counter() - started) * 1000)
            body = response.json()
            cited = list(dict.fromkeys(passage_of(s["source"]) for s in body["sources"]))[:K]
            gold = set(q["supporting_ids"])
            for bucket in (q["dataset"], "macro"):
                scores[f"recall:{bucket}"].append(len(gold & set(cited)) / len(gold))
                scores[f"answer:{bucket}"].append(float(answer_hit(body["answer"], q)))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-dataset", type=int, default=50)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--modes", nargs="+", default=["dense", "hybrid"])
    parser.add_argument("--dataset-dir", type=Path, default=DATASET)
    args = parser.parse_args()
    questions, workspace, data_dir, record = build(args.dataset_dir, args.split, args.per_dataset)
    datasets = sorted({q["dataset"] for q in questions})
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "AMALGAM_WORKSPACE": workspace}
    server, base = start_server(data_dir.resolve(), env)
    try:
        results = {mode: ask_all(base, questions, mode) for mode in args.modes}
    finally:
        stop_server(server)
    print(
        f"\n{len(questions)} {args.split} questions ({args.per_dataset} per dataset); workspace {workspace} built "
        f"by ingest: {record}; POST /v1/ask, top_k {K}"
    )
    print("| mode | " + " | ".join(f"R@5 {d}" for d in datasets) + " | R@5 macro | answer hit | p50 ms | errors |")
    print("|---" * (len(datasets) + 5) + "|")
    for mode, s in results.items():
        recalls = [100 * np.mean(s[f"recall:{d}"]) for d in datasets]
        print(
            f"| {mode} | " + " | ".join(f"{r:.1f}" for r in recalls) + f" | {np.mean(recalls):.1f} | "
            f"{100 * np.mean(s['answer:macro']):.1f} | {np.percentile(s['latency'], 50):.0f} | "
            f"{len(s['errors'])} |"
        )
    if "dense" in results:
        dense = np.mean([np.mean(results["dense"][f"recall:{d}"]) for d in datasets])
        for mode in results:
            if mode != "dense":
                other = np.mean([np.mean(results[mode][f"recall:{d}"]) for d in datasets])
                print(f"{mode} - dense: {100 * (other - dense):+.1f} points R@5 (macro over datasets)")


if __name__ == "__main__":
    main()
