"""Chunking benchmark: boundary quality, speed and downstream retrieval recall, same docs, same run.

Documents are built from the multihop dataset: the context passages (gold + distractors) of a
sample of dev questions, shuffled and concatenated ``--per-doc`` at a time, so the true topic
boundaries are the passage starts. Every chunker scores each document once; dynamic merging is
then run for each ``--targets`` size (max = 2 x target).

- Boundary P/R/F1: a predicted boundary (a gap between sentences) matches a true one within +-1
  sentence, one-to-one.
- Speed: sentences/s of the scoring pass, wall clock and per CPU-second (the machine is shared,
  so wall time depends on the load; CPU time is what 2 dedicated cores would spend).
- Downstream: dense retrieval (all-MiniLM-L6-v2, exact cosine) of the top-5 chunks for each
  question; a supporting passage counts as found when a retrieved chunk holds >= 50% of it.
- LM backends (``--backends``): the same sentence scoring through llama.cpp (Q4_1) and
  transformers (bf16, fp32) on the first documents.

Run: HF_HUB_OFFLINE=1 python bench/chunking.py [--questions 20 --per-doc 8 --margin-docs 3]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.evaluation.datasets import DEFAULT_DATASET as DATASET  # noqa: E402
from app.evaluation.metrics import paired_difference  # noqa: E402
from ingest.chunking.fixed import FixedChunker  # noqa: E402
from ingest.chunking.lm import (  # noqa: E402
    CausalLM,
    LlamaCppLM,
    TransformersLM,
    load_lm,
    smollm2_gguf_path,
)
from ingest.chunking.margin import MarginChunker  # noqa: E402
from ingest.chunking.merge import merge_spans, pack_in_order  # noqa: E402
from ingest.chunking.perplexity import PerplexityChunker, sentence_losses  # noqa: E402
from ingest.chunking.scored import GapScores, GapScoringChunker  # noqa: E402
from ingest.chunking.semantic import SemanticChunker  # noqa: E402
from ingest.models import Document  # noqa: E402
from ingest.sentences import Sentence, count_tokens, split_document  # noqa: E402


@dataclass
class BenchDoc:
    doc: Document
    sentences: list[Sentence]
    passage_spans: dict[str, tuple[int, int]]  # passage id -> char span in doc.text
    true_gaps: set[int]


@dataclass
class Run:
    """One chunker on one target: chunk spans per document, boundary gaps, timings."""

    spans: list[list[tuple[int, int]]] = field(default_factory=list)
    gaps: list[set[int]] = field(default_factory=list)


def load_corpus(questions: int, seed: int) -> tuple[dict[str, dict], list[dict]]:
    rows = [json.loads(line) for line in (DATASET / "questions.jsonl").open(encoding="utf-8")]
    dev = [row for row in rows if row.get("split") == "dev"]
    sample = random.Random(seed).sample(dev, questions)
    wanted = {pid for q in sample for pid in q["context_ids"]}
    corpus = {}
    for line in (DATASET / "corpus.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if row["id"] in wanted:
            corpus[row["id"]] = row
    return corpus, sample


def build_docs(corpus: dict[str, dict], per_doc: int, max_tokens: int, seed: int) -> list[BenchDoc]:
    ids = sorted(corpus)
    random.Random(seed).shuffle(ids)
    docs = []
    for first in range(0, len(ids), per_doc):
        group, text, spans = ids[first : first + per_doc], "", {}
        for pid in group:
            start = len(text) + (1 if text else 0)
            text = f"{text}\n{corpus[pid]['text']}" if text else corpus[pid]["text"]
            spans[pid] = (start, len(text))
        doc = Document.from_text(text, source=f"bench#{first}", title="bench")
        sentences = split_document(doc, max_tokens=max_tokens)
        starts = [s.start for s in sentences]
        true_gaps = {bisect.bisect_left(starts, s) - 1 for s, _ in list(spans.values())[1:]}
        docs.append(BenchDoc(doc, sentences, spans, {g for g in true_gaps if g >= 0}))
    return docs


def boundary_counts(predicted: Sequence[set[int]], truth: Sequence[set[int]]) -> np.ndarray:
    """Per document: (matched, predicted, true) boundaries, +-1 sentence tolerance, each true one matched once."""
    rows = []
    for pred, true in zip(predicted, truth, strict=True):
        unmatched, hits = set(pred), 0
        for gap in sorted(true):
            match = next((g for g in (gap, gap - 1, gap + 1) if g in unmatched), None)
            if match is not None:
                unmatched.discard(match)
                hits += 1
        rows.append((hits, len(pred), len(true)))
    return np.array(rows, dtype=float).reshape(len(rows), 3)


def prf(counts: np.ndarray) -> tuple[float, float, float]:
    """Micro P/R/F1 from per-document counts."""
    hits, n_pred, n_true = counts.sum(axis=0)
    precision, recall = hits / max(n_pred, 1), hits / max(n_true, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_gap_chunker(chunker: GapScoringChunker, docs: list[BenchDoc], targets: list[int]) -> tuple[dict, float, float]:
    runs = {t: Run() for t in targets}
    wall = cpu = 0.0
    for bench_doc in docs:
        sentences = bench_doc.sentences
        scores, w, c = timed(lambda s=sentences: chunker.score_gaps(s))
        assert isinstance(scores, GapScores)
        wall, cpu = wall + w, cpu + c
        sizes = [count_tokens(s.text) for s in sentences]
        for target in targets:
            if chunker.name == "sentence":
                groups = pack_in_order(sizes, target=target)
            else:
                groups = merge_spans(sizes, scores.strengths, scores.boundaries, target=target, maximum=2 * target)
            runs[target].spans.append([(sentences[a].start, sentences[b].end) for a, b in groups])
            runs[target].gaps.append({b for _, b in groups[:-1]})
    return runs, wall, cpu


def run_fixed(docs: list[BenchDoc], targets: list[int]) -> tuple[dict, float, float]:
    runs = {t: Run() for t in targets}
    wall = cpu = 0.0
    for bench_doc in docs:
        starts = [s.start for s in bench_doc.sentences]
        for target in targets:
            windows, w, c = timed(lambda t=target, d=bench_doc: FixedChunker(target_tokens=t).windows(d.doc.text))
            assert isinstance(windows, list)
            wall, cpu = wall + w / len(targets), cpu + c / len(targets)
            runs[target].spans.append(windows)
            runs[target].gaps.append({_nearest_sentence(starts, start) - 1 for start, _ in windows[1:]})
    return runs, wall, cpu


def _nearest_sentence(starts: list[int], offset: int) -> int:
    right = bisect.bisect_left(starts, offset)
    if right == 0:
        return 0
    if right == len(starts) or offset - starts[right - 1] <= starts[right] - offset:
        return right - 1
    return right


def downstream_recalls(
    run: Run, docs: list[BenchDoc], questions: list[dict], embedder: object, k: int = 5
) -> list[float]:
    """Per question: the share of its supporting passages that a top-k chunk holds >= 50% of."""
    texts, owners = [], []
    for doc_index, spans in enumerate(run.spans):
        for start, end in spans:
            texts.append(docs[doc_index].doc.text[start:end])
            owners.append((doc_index, start, end))
    chunk_vectors = embedder.embed(texts)  # type: ignore[attr-defined]
    question_vectors = embedder.embed([q["question"] for q in questions])  # type: ignore[attr-defined]
    where = {pid: (i, span) for i, d in enumerate(docs) for pid, span in d.passage_spans.items()}
    recalls = []
    for question, vector in zip(questions, question_vectors, strict=True):
        top = np.argsort(-(chunk_vectors @ vector))[:k]
        found = 0
        for pid in question["supporting_ids"]:
            doc_index, (p_start, p_end) = where[pid]
            overlaps = (min(p_end, owners[i][2]) - max(p_start, owners[i][1]) for i in top if owners[i][0] == doc_index)
            found += any(o >= 0.5 * (p_end - p_start) for o in overlaps)
        recalls.append(found / len(question["supporting_ids"]))
    return recalls


def _backend(spec: str) -> CausalLM:
    """``transformers-bf16@1``, ``transformers-fp32@2``, ``llamacpp@1``: backend, dtype, threads."""
    kind, _, threads = spec.partition("@")
    gguf = smollm2_gguf_path()
    if kind == "llamacpp":
        return LlamaCppLM(gguf, n_threads=int(threads or 1))
    dtype = {"transformers-bf16": "bfloat16", "transformers-fp32": "float32"}[kind]
    return TransformersLM(gguf.parent, gguf_file=gguf.name, dtype=dtype, threads=int(threads or 1))


def compare_backends(docs: list[BenchDoc], specs: list[str]) -> None:
    print("\n## LM backends: sentence scoring on the same documents")
    print(
        "| backend@threads | signal | load s | sentences | tokens/s wall | sentences/s wall | sentences per CPU-s "
        "| corr |"
    )
    print("|---|---|---|---|---|---|---|---|")
    texts = [[s.text for s in d.sentences] for d in docs]
    reference: dict[str, np.ndarray] = {}
    for spec in specs:
        lm, load_s, _ = timed(lambda s=spec: _backend(s))
        assert not isinstance(lm, float)
        tokens = sum(len(lm.token_ids(" ".join(t))) for t in texts)
        for signal, opening in (("sentence", None), ("opening", 5)):
            sentence_losses(lm, texts[0][:10], opening_tokens=opening)  # warm-up: first-call costs
            losses, wall, cpu = timed(
                lambda m=lm, k=opening: np.concatenate([sentence_losses(m, t, opening_tokens=k) for t in texts])
            )
            assert isinstance(losses, np.ndarray)
            reference.setdefault(signal, losses)
            n, corr = len(losses), float(np.corrcoef(reference[signal], losses)[0, 1])
            print(
                f"| {spec} | {signal} | {load_s:.1f} | {n} | {tokens / wall:.0f} | {n / wall:.1f} | {n / cpu:.1f} "
                f"| {corr:.4f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--per-doc", type=int, default=8)
    parser.add_argument("--targets", default="100,200")
    parser.add_argument("--margin-docs", type=int, default=3, help="margin runs on the first N docs only")
    parser.add_argument("--backends", default="transformers-bf16@1,transformers-bf16@2,transformers-fp32@1,llamacpp@1")
    parser.add_argument("--backend-docs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--only", default="", help="comma-separated chunker names (default: all)")
    args = parser.parse_args()
    targets = [int(t) for t in args.targets.split(",")]

    from retrieval.embeddings import SentenceTransformerEmbedder

    corpus, questions = load_corpus(args.questions, args.seed)
    docs = build_docs(corpus, args.per_doc, max_tokens=2 * max(targets), seed=args.seed)
    n_sentences = sum(len(d.sentences) for d in docs)
    print(
        f"# {len(docs)} docs, {len(corpus)} passages, {n_sentences} sentences, {len(questions)} questions; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    embedder = SentenceTransformerEmbedder()
    lm = load_lm("smollm2")
    chunkers: dict[str, Callable[[list[BenchDoc]], tuple[dict, float, float]]] = {
        "fixed": lambda ds: run_fixed(ds, targets),
        "sentence": lambda ds: run_gap_chunker(_sentence_window(), ds, targets),
        "semantic": lambda ds: run_gap_chunker(SemanticChunker(embedder), ds, targets),
        # The paper's signal with the first shipped windows (384 + 64, batches of 4): the "before".
        "perplexity-paper": lambda ds: run_gap_chunker(
            PerplexityChunker(lm=lm, signal="sentence", window=384, context=64), ds, targets
        ),
        "perplexity": lambda ds: run_gap_chunker(PerplexityChunker(lm=lm), ds, targets),
    }
    if args.only:
        chunkers = {name: run for name, run in chunkers.items() if name in args.only.split(",")}
    for run in chunkers.values():
        run(docs[:1])  # warm-up: first-call costs (kernel selection, allocations) are not throughput
    results = {name: run(docs) for name, run in chunkers.items()}
    report(results, docs, questions, embedder, targets, "all documents")

    subset = docs[: args.margin_docs]
    if subset:  # --margin-docs 0 skips this section
        sub_results = {name: run(subset) for name, run in chunkers.items() if name != "fixed"}
        sub_results["margin"] = run_gap_chunker(MarginChunker(lm=lm), subset, targets)
        sub_questions = [q for q in questions if all(_doc_of(pid, subset) for pid in q["supporting_ids"])]
        report(sub_results, subset, sub_questions, embedder, targets, f"first {len(subset)} documents (margin)")
    if args.backends:
        compare_backends(docs[: args.backend_docs], args.backends.split(","))


def _sentence_window() -> GapScoringChunker:
    from ingest.chunking.sentence import SentenceWindowChunker

    return SentenceWindowChunker()


def _doc_of(pid: str, docs: list[BenchDoc]) -> bool:
    return any(pid in d.passage_spans for d in docs)


def report(
    results: dict, docs: list[BenchDoc], questions: list[dict], embedder: object, targets: list[int], label: str
) -> None:
    n_sentences = sum(len(d.sentences) for d in docs)
    truth = [d.true_gaps for d in docs]
    print(
        f"\n## {label}: {len(docs)} docs, {n_sentences} sentences, {sum(map(len, truth))} true boundaries, "
        f"{len(questions)} questions"
    )
    print(
        "| chunker | target | chunks | mean tokens | P | R | F1 | recall@5 | sentences/s wall | sentences per CPU-s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    counts: dict[tuple[str, int], np.ndarray] = {}
    per_question: dict[tuple[str, int], list[float]] = {}
    for name, (runs, wall, cpu) in results.items():
        for target in targets:
            run = runs[target]
            counts[name, target] = boundary_counts(run.gaps, truth)
            p, r, f1 = prf(counts[name, target])
            sizes = [count_tokens(docs[i].doc.text[a:b]) for i, spans in enumerate(run.spans) for a, b in spans]
            per_question[name, target] = downstream_recalls(run, docs, questions, embedder) if questions else []
            recall = float(np.mean(per_question[name, target])) if questions else float("nan")
            print(
                f"| {name} | {target} | {len(sizes)} | {np.mean(sizes):.0f} | {p:.3f} | {r:.3f} | {f1:.3f} | "
                f"{recall:.3f} | {n_sentences / max(wall, 1e-9):.1f} | {n_sentences / max(cpu, 1e-9):.1f} |"
            )

    if "perplexity" in results and "semantic" in results:
        for target in targets:
            print_intervals(counts, per_question, target)


def print_intervals(
    counts: dict[tuple[str, int], np.ndarray], per_question: dict[tuple[str, int], list[float]], target: int
) -> None:
    """Perplexity minus semantic with 95% bootstrap intervals: F1 resampling documents, recall@5 questions."""
    rng = np.random.default_rng(0)
    ppl, sem = counts["perplexity", target], counts["semantic", target]
    picks = rng.integers(0, len(ppl), size=(2000, len(ppl)))
    f1_diffs = [prf(ppl[pick])[2] - prf(sem[pick])[2] for pick in picks]
    line = f"target {target}: F1 perplexity - semantic {prf(ppl)[2] - prf(sem)[2]:+.3f} " + _interval(f1_diffs)
    if per_question["perplexity", target]:
        mean, low, high = paired_difference(per_question["perplexity", target], per_question["semantic", target])
        line += f"; recall@5 {mean:+.3f} (95% CI {low:+.3f} to {high:+.3f})"
    print(line)


def _interval(values: Sequence[float] | np.ndarray) -> str:
    return f"(95% CI {np.percentile(values, 2.5):+.3f} to {np.percentile(values, 97.5):+.3f})"


if __name__ == "__main__":
    main()
