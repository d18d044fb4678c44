"""Retrieval metrics of the multi-hop evaluation: recall@k of supporting passages, answer hits, latency,
paired-bootstrap differences, and the tables ``amalgam eval multihop`` prints."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.evaluation.datasets import Question
from retrieval.modes import MODES
from retrieval.retriever import HybridRetriever

# Each method is a set of fused signals; "hybrid" is the retriever's full hybrid mode.
METHODS: dict[str, tuple[str, ...]] = {
    "dense": ("dense",),
    "bm25": ("bm25",),
    "dense+bm25": ("dense", "bm25"),
    "graph": ("ppr",),
    "treehop": ("treehop",),
    "hybrid-rrf": MODES["hybrid"].signals,  # the same signals, fused by RRF
    "hybrid": MODES["hybrid"].signals,
    "auto": MODES["auto"].signals,  # the auto mode itself: hybrid, or global for a question about the collection
}
WHOLE_MODES = ("auto",)  # methods that run their mode as a user gets it (it chooses its own signals)
KS = (2, 5, 10)


@dataclass
class MethodScores:
    recall: dict[int, list[float]] = field(default_factory=lambda: {k: [] for k in KS})
    answer_hits: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def row(self) -> dict[str, float]:
        out = {f"R@{k}": 100 * float(np.mean(v)) if v else 0.0 for k, v in self.recall.items()}
        out["answer@5"] = 100 * float(np.mean(self.answer_hits)) if self.answer_hits else 0.0
        if self.latencies_ms:
            out["p50 ms"] = float(np.percentile(self.latencies_ms, 50))
            out["p95 ms"] = float(np.percentile(self.latencies_ms, 95))
        return out


def answer_in(texts: list[str], answers: list[str]) -> bool:
    haystack = " ".join(" ".join(texts).casefold().split())
    return any(" ".join(a.casefold().split()) in haystack for a in answers if a.strip())


def evaluate(
    retriever: HybridRetriever,
    questions: list[Question],
    chunk_to_passage: dict[str, str],
    passage_text: dict[str, str],
    methods: dict[str, tuple[str, ...]] = METHODS,
    on_question: Callable[[], None] | None = None,
) -> dict[str, dict[str, MethodScores]]:
    """scores[method][dataset or "overall"]: recall@2/5/10 of supporting passages, whether the gold answer
    string occurs in the top-5 passages, and retrieval latency (question embedding included).
    ``on_question`` is called after each question (a progress bar)."""
    scores: dict[str, dict[str, MethodScores]] = {m: {} for m in methods}
    for q in questions:
        for method, signals in methods.items():
            started = time.perf_counter()
            fusion = "rrf" if method.endswith("-rrf") else None  # None: the hybrid mode's own fusion
            if method in WHOLE_MODES:
                fused = retriever.rank(q.question, k=max(KS), mode=method).hits
            else:
                fused = retriever.rank(q.question, k=max(KS), mode="hybrid", signals=signals, fusion=fusion).hits
            elapsed = (time.perf_counter() - started) * 1000
            ranked = list(dict.fromkeys(chunk_to_passage.get(h.chunk_id, h.chunk_id) for h in fused))
            gold = set(q.supporting_ids)
            for bucket in (q.dataset, "overall"):
                s = scores[method].setdefault(bucket, MethodScores())
                for k in KS:
                    s.recall[k].append(len(gold & set(ranked[:k])) / len(gold))
                s.answer_hits.append(
                    float(
                        answer_in(
                            [passage_text[p] for p in ranked[:5] if p in passage_text],
                            [q.answer, *q.answer_aliases],
                        )
                    )
                )
                s.latencies_ms.append(elapsed)
        if on_question is not None:
            on_question()
    return scores


def paired_difference(
    a: Sequence[float], b: Sequence[float], *, rounds: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over the same questions and its 95% paired-bootstrap interval, in the inputs' units."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    samples = np.random.default_rng(seed).integers(0, diff.size, size=(rounds, diff.size))
    means = diff[samples].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# Differences the report gives with a confidence interval: the goals' comparisons, on the goals' questions.
COMPARISONS = (
    ("hybrid", "dense", "overall"),
    ("hybrid", "hybrid-rrf", "overall"),
    ("treehop", "dense", "2wikimultihopqa"),
    ("treehop", "dense", "hotpotqa"),
)


def format_comparisons(scores: dict[str, dict[str, MethodScores]], k: int = 5) -> str:
    """R@k differences between methods on the same questions, with 95% bootstrap intervals."""
    lines = []
    for first, second, bucket in COMPARISONS:
        if bucket in scores.get(first, {}) and bucket in scores.get(second, {}):
            a, b = scores[first][bucket].recall[k], scores[second][bucket].recall[k]
            mean, low, high = (100 * value for value in paired_difference(a, b))
            where = "" if bucket == "overall" else f" ({bucket})"
            lines.append(f"R@{k} {first} - {second}{where}: {mean:+.1f} points (95% CI {low:+.1f} to {high:+.1f})")
    return "\n".join(lines)


def format_table(scores: dict[str, dict[str, MethodScores]]) -> str:
    buckets = sorted({b for per in scores.values() for b in per}, key=lambda b: (b == "overall", b))
    lines = ["| dataset | method | R@2 | R@5 | R@10 | answer@5 | p50 ms | p95 ms |", "|---" * 8 + "|"]
    for bucket in buckets:
        for method, per in scores.items():
            if bucket in per:
                r = per[bucket].row()
                lines.append(
                    f"| {bucket} | {method} | {r['R@2']:.1f} | {r['R@5']:.1f} | {r['R@10']:.1f} | "
                    f"{r['answer@5']:.1f} | {r.get('p50 ms', 0):.1f} | {r.get('p95 ms', 0):.1f} |"
                )
    return "\n".join(lines)
