"""Theme coverage of global vs hybrid vs auto search, same run, over a workspace the product's ingest built.

    nice -n 10 python bench/global.py [--per-theme 30] [--passages 1000] [--torch-threads 1]

The corpus: passages of the multihop data set's *train* questions' contexts (``../shared/datasets/multihop``),
never its holdout. A theme is a property the passage's first sentence states, matched by a pattern, so the
labels need no judgement: "X is an English footballer", "X is a 1982 horror film", "X is a river". Each
theme keeps up to --per-theme passages; passages of no theme fill the corpus up to --passages. A theme's
documents are every corpus passage its pattern matches.

Each theme is asked "Which <theme> are described in these documents?" in each mode at top-k 10 and 20;
coverage is the share of the theme's documents among the cited sources (recall of the theme), precision the
share of cited sources that belong to it. The workspace is built by ``Engine.ingest`` (``open_workspace``,
cached by corpus and settings), which also keeps its communities fresh; the time one community refresh
takes on the built workspace is printed too (what every ingest call adds).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.communities import refresh_communities  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.evaluation.datasets import Passage, load_passages, load_questions  # noqa: E402
from app.evaluation.workspace import EvalWorkspace, open_workspace  # noqa: E402
from app.runtime import limit_threads  # noqa: E402

_LEAD = r"\b(?:is|was) an? (?:\d{4} )?(?:[A-Z][\w-]+ )*"
THEMES: dict[str, str] = {
    "footballers": _LEAD + r"(?:former |professional |retired )*(?:association )?footballer\b",
    "politicians": _LEAD + r"(?:former |retired )*politician\b",
    "composers": _LEAD + r"composer\b",
    "painters": _LEAD + r"painter\b",
    "singers": _LEAD + r"(?:former )*singer\b",
    "rivers": r"\b(?:is|was) an? (?:\w+ )?river\b",
    "airports": r"\b(?:is|was) an? (?:\w+ )*airport\b",
    "horror films": _LEAD + r"horror film\b",
    "documentary films": _LEAD + r"documentary(?: film)?\b",
    "villages": r"\b(?:is|was) an? (?:small )?village\b",
}
MODES = ("hybrid", "global", "auto")
KS = (10, 20)
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s")


def first_sentence(text: str) -> str:
    return _FIRST_SENTENCE.split(text, maxsplit=1)[0]


def themes_of(passage: Passage) -> list[str]:
    lead = first_sentence(passage.text)
    return [name for name, pattern in THEMES.items() if re.search(pattern, lead)]


def theme_corpus(per_theme: int, total: int) -> tuple[list[Passage], dict[str, set[str]]]:
    """Train-context passages: up to ``per_theme`` of each theme, then themeless ones up to ``total``."""
    wanted = {p for q in load_questions(split="train") for p in (*q.context_ids, *q.supporting_ids)}
    pool = sorted((p for p in load_passages() if p.id in wanted), key=lambda p: p.id)
    chosen: list[Passage] = []
    taken: dict[str, int] = {}
    for passage in pool:
        names = themes_of(passage)
        if names and all(taken.get(n, 0) < per_theme for n in names):
            chosen.append(passage)
            for name in names:
                taken[name] = taken.get(name, 0) + 1
    fillers = [p for p in pool if not themes_of(p)]
    chosen += fillers[: max(0, total - len(chosen))]
    members = {name: {p.id for p in chosen if name in themes_of(p)} for name in THEMES}
    return chosen, members


def question_for(theme: str) -> str:
    return f"Which {theme} are described in these documents?"


def score(workspace: EvalWorkspace, members: dict[str, set[str]]) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """(mode, k) -> one (coverage, precision) per theme."""
    engine = workspace.engine
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for theme, documents in members.items():
        for mode in MODES:
            for k in KS:
                found = engine.retrieve(question_for(theme), top_k=k, mode=mode)
                cited = {workspace.chunk_to_passage.get(e.chunk.id, e.chunk.id) for e in found.evidence}
                hits = len(cited & documents)
                results.setdefault((mode, k), []).append((hits / len(documents), hits / max(1, len(cited))))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-theme", type=int, default=30)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()
    limit_threads(args.torch_threads)
    passages, members = theme_corpus(args.per_theme, args.passages)
    members = {name: docs for name, docs in members.items() if docs}
    workspace = open_workspace(load_settings(), passages)
    try:
        engine = workspace.engine
        engine.embedder.embed(["warm up"])  # the model loads outside the timing
        started = time.perf_counter()
        refresh = refresh_communities(engine.settings, engine.store, engine.embedder, None)
        refresh_seconds = time.perf_counter() - started
        engine.retriever  # noqa: B018 - open it (loads the community index) before timing questions
        results = score(workspace, members)
    finally:
        workspace.close()
    print(f"{len(passages)} passages, {len(members)} themes: " + ", ".join(f"{n} {len(d)}" for n, d in members.items()))
    levels = ", ".join(f"level {k}: {v}" for k, v in sorted(refresh.by_level.items()))
    print(f"communities: {refresh.communities} ({levels}); one refresh takes {refresh_seconds:.1f} s here")
    print(f"\n{'mode':<8}{'k':>4}{'coverage':>10}{'precision':>11}{'x hybrid':>10}")
    for k in KS:
        base = sum(c for c, _ in results[("hybrid", k)]) / len(members)
        for mode in MODES:
            coverage = sum(c for c, _ in results[(mode, k)]) / len(members)
            precision = sum(p for _, p in results[(mode, k)]) / len(members)
            ratio = coverage / base if base else float("nan")
            print(f"{mode:<8}{k:>4}{100 * coverage:>9.1f}%{100 * precision:>10.1f}%{ratio:>10.2f}")
    print("\nper theme, coverage at k=20 (hybrid / global / auto):")
    for i, theme in enumerate(members):
        row = " / ".join(f"{100 * results[(mode, 20)][i][0]:.0f}%" for mode in MODES)
        print(f"  {theme:<20}{row}")


if __name__ == "__main__":
    main()
