"""Ingest throughput on both stores, against the embedding model alone (the physical floor), same run.

    python bench/ingest.py [--passages 300] [--neo4j-uri bolt://127.0.0.1:7697] [--no-neo4j]
    python bench/ingest.py --curve [--curve-at 1000 5000 10000] [--passages 300] [--source NEW.jsonl]
    python bench/ingest.py --stages --no-neo4j   # where the embedded ingest's time goes, stage by stage
    python bench/ingest.py --into DATA_DIR --workspace W [--passages 300]   # marginal rate on a big workspace

Passages come from ../shared/datasets/multihop/corpus.jsonl and go through ``Engine.ingest`` on a
JSONL file, as ``amalgam ingest`` does. The models (embedder, the chunker's LM, spaCy) are loaded and
warmed before any timing, as the floor's embedder is; their load time is printed apart. Without
--neo4j-uri a throw-away local Neo4j is started (docker/neo4j-local) on port 7698 (--neo4j-port) and stopped afterwards.

The "communities s" column is the part of the ingest spent refreshing the community hierarchy at its end
(AMALGAM_COMMUNITIES=auto, the default; it is included in the rate), so the rate without it is visible too.

--stages runs the embedded ingest under cProfile and prints the seconds spent in each stage of
``app/prepare.py`` and ``app/pipeline.py`` (the profiler itself adds some overhead, so take the ratio from a
run without it).

--into times the next --passages passages into a copy of an existing embedded workspace (e.g. the full
corpus that ``amalgam eval multihop`` built) and, in the same run, the same passages into an empty workspace:
the ratio of the two rates is the growth. A copy built by code older than the extended community refresh
(no ``communities.json``) gets one untimed full refresh first, as its own ingest would have ended with. The
passages come from --source (default: the hold-out corpus, whose passages are not in the dev/train workspace;
only ingest time is measured, nothing is scored).

--curve (embedded store) grows one workspace through the whole corpus, one ``Engine.ingest`` call per
step up to each --curve-at size and on to the end. At the empty start, at each size and at the end it
times the same --passages new passages (from --source) into a copy of the workspace, so every point of
the curve ingests the same texts and the ratio to the empty point is the growth alone. The steps' wall
times add up to the whole corpus's ingest time; the graph's counts are printed at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.communities import STATE_FILE, refresh_communities  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.engine import Engine  # noqa: E402
from ingest.models import Chunk, Document  # noqa: E402

CORPUS = REPO.parent / "shared" / "datasets" / "multihop" / "corpus.jsonl"
NEW_PASSAGES = REPO.parent / "shared" / "datasets" / "multihop-holdout" / "corpus.jsonl"


def read_rows(start: int, stop: int | None, corpus: Path = CORPUS) -> list[dict[str, str]]:
    with corpus.open() as source:
        return [json.loads(line) for line in itertools.islice(source, start, stop)]


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"id": r["id"], "title": r["title"], "text": r["text"]}) + "\n" for r in rows))
    return path


def warm(engine: Engine, texts: list[str]) -> float:
    """Load every model ingest uses, outside the timings; returns the seconds it took."""
    started = time.perf_counter()
    engine.embedder.embed(texts[:32])
    lm = getattr(engine.pipeline.chunker, "lm", None)  # the perplexity chunker's LM, loaded on first use
    if lm is not None:
        lm.token_ids("warm up")
    doc = Document.from_text(texts[0], source="warm", title="warm")
    engine.pipeline.extractor.extract([Chunk.from_span(doc, 0, 0, len(doc.text), "warm")])
    return time.perf_counter() - started


def time_ingest(engine: Engine, corpus: Path) -> tuple[float, int, float]:
    """Seconds, chunks written, and seconds of those spent refreshing communities."""
    started = time.perf_counter()
    report = engine.ingest([corpus])
    if report.errors:
        raise SystemExit(f"ingest reported errors: {report.errors[:3]}")
    communities = report.communities.seconds if report.communities else 0.0
    return time.perf_counter() - started, report.chunks, communities


# Stage name -> (file suffix, function name) of the functions whose cumulative time is that stage's.
STAGES = {
    "chunk (perplexity LM)": ("app/prepare.py", "chunk"),
    "extract (spaCy)": ("app/prepare.py", "extract"),
    "embed (chunks + pooled mentions)": ("app/prepare.py", "embed"),
    "resolve entities": ("graph/fusion/resolver.py", "resolve"),
    "write graph": ("graph/fusion/resolver.py", "write"),
    "index checkpoint (BM25, FAISS)": ("app/pipeline.py", "_checkpoint"),
    "community refresh": ("app/pipeline.py", "_refresh_communities"),
}


def profiled_ingest(engine: Engine, corpus: Path) -> tuple[float, int, dict[str, float]]:
    """``time_ingest`` under cProfile: seconds, chunks, and the cumulative seconds of each stage."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    seconds, chunks, _ = time_ingest(engine, corpus)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    stages = dict.fromkeys(STAGES, 0.0)
    for (path, _, function), (_, _, _, cumulative, _) in stats.items():
        for stage, (suffix, name) in STAGES.items():
            if function == name and path.endswith(suffix):
                stages[stage] += cumulative
    return seconds, chunks, stages


def floor_rate(engine: Engine, texts: list[str]) -> float:
    started = time.perf_counter()
    engine.embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def compare(args: argparse.Namespace, work: Path) -> None:
    rows = read_rows(0, args.passages)
    corpus = write_rows(work / "corpus.jsonl", rows)
    texts = [f"{r['title']}\n\n{r['text']}" for r in rows]

    embedded = Engine(load_settings(data_dir=work / "embedded"))
    loading = warm(embedded, texts)
    embed_rate = floor_rate(embedded, texts)
    rows_out = [("embedding only (floor)", embed_rate, 0.0, 0.0)]
    if args.stages:
        floor_seconds = len(texts) / embed_rate
        seconds, chunks, stages = profiled_ingest(embedded, corpus)
        print(f"embedded ingest under cProfile: {seconds:.1f} s for {chunks} chunks; floor {floor_seconds:.1f} s")
        print(f"{'stage':<36}{'seconds':>9}{'share':>8}{'x floor':>9}")
        for stage, spent in stages.items():
            print(f"{stage:<36}{spent:>9.1f}{100 * spent / seconds:>7.1f}%{spent / floor_seconds:>9.2f}")
        rest = seconds - sum(stages.values())
        print(f"{'everything else':<36}{rest:>9.1f}{100 * rest / seconds:>7.1f}%{rest / floor_seconds:>9.2f}")
        embedded.close()
        return
    seconds, chunks, refresh = time_ingest(embedded, corpus)
    rows_out.append(("ingest, embedded store", chunks / seconds, refresh, seconds))
    embedded.close()

    if not args.no_neo4j:
        uri, stop = args.neo4j_uri, None
        if not uri:
            from app import neo4j_local

            home = work / "neo4j"
            uri, _, _ = neo4j_local.start(home, port=args.neo4j_port, auth=False)
            stop = lambda: neo4j_local.stop(home)  # noqa: E731
        try:
            settings = load_settings(data_dir=work / "neo4j-data", graph_backend="neo4j", neo4j_uri=uri,
                                     neo4j_password="unused", workspace="bench")  # fmt: skip
            neo = Engine(settings)
            neo.store.clear()
            seconds, chunks, refresh = time_ingest(neo, corpus)
            rows_out.append(("ingest, neo4j store", chunks / seconds, refresh, seconds))
            neo.store.clear()
            neo.close()
        finally:
            if stop:
                stop()

    print(f"{args.passages} passages, spaCy extraction, models loaded beforehand ({loading:.1f} s)")
    print(f"{'path':<26}{'chunks/s':>10}{'ratio to floor':>16}{'communities s':>15}{'share':>7}")
    for name, rate, refresh, total in rows_out:
        share = f"{100 * refresh / total:>6.1f}%" if total else ""
        print(f"{name:<26}{rate:>10.1f}{rate / embed_rate:>16.2f}{refresh:>15.2f}{share}")


def curve(args: argparse.Namespace, work: Path) -> None:
    """Grow one workspace through the corpus; at each size, time the same new passages into a copy of it."""
    total = sum(1 for _ in args.corpus.open())
    sizes = sorted(s for s in args.curve_at if 0 < s < total)
    new_rows = read_rows(0, args.passages, args.source)
    new_corpus = write_rows(work / "new.jsonl", new_rows)
    grown = work / "curve"
    engine = Engine(load_settings(data_dir=grown))
    loading = warm(engine, [f"{r['title']}\n\n{r['text']}" for r in new_rows])
    engine.close()
    ingest_into_copy(work / "nothing", work / "warm-up", new_corpus)  # first-call costs (thread pools) off the clock
    print(f"{args.passages} new passages from {args.source} timed at each size; models loaded ({loading:.1f} s)")
    print(f"{'in workspace':>12}{'grow s':>9}{'new: seconds':>14}{'chunks/s':>10}{'vs empty':>10}{'communities s':>15}")
    done, wall, empty_rate = 0, 0.0, 0.0
    for size in [0, *sizes, total]:
        grow_seconds = 0.0
        if size > done:
            step = Engine(load_settings(data_dir=grown))  # a fresh engine per call, like the CLI
            rows = write_rows(work / f"rows-{done}.jsonl", read_rows(done, size, args.corpus))
            grow_seconds, _, _ = time_ingest(step, rows)
            step.close()
            wall, done = wall + grow_seconds, size
        _, seconds, chunks, refresh = ingest_into_copy(grown, work / f"at-{size}", new_corpus)
        rate = chunks / seconds
        empty_rate = empty_rate or rate
        print(f"{size:>12}{grow_seconds:>9.1f}{seconds:>14.1f}{rate:>10.2f}{rate / empty_rate:>10.2f}{refresh:>15.1f}",
              flush=True)  # fmt: skip
    final = Engine(load_settings(data_dir=grown))
    calls = len(sizes) + 1
    print(f"whole corpus ({done} passages): {wall / 60:.1f} min of ingest in {calls} calls; {final.store.stats()}")
    final.close()


class CopyRun(NamedTuple):
    documents_before: int
    seconds: float
    chunks: int
    communities_seconds: float


def ingest_into_copy(data_dir: Path, copy: Path, corpus: Path, workspace: str = "default") -> CopyRun:
    """``time_ingest`` of ``corpus`` into a copy of ``data_dir``'s workspace (an empty one when it has none)."""
    if (data_dir / workspace).is_dir():
        shutil.copytree(data_dir / workspace, copy / workspace)
    engine = Engine(load_settings(data_dir=copy, workspace=workspace))
    try:
        warm(engine, [f"{r['title']}\n\n{r['text']}" for r in map(json.loads, corpus.read_text().splitlines())])
        before = engine.store.stats()
        if before.chunks and not (engine.settings.workspace_dir / STATE_FILE).is_file():
            # Built by code that kept no refresh state: one (full) refresh first, untimed, leaves the workspace as
            # the current code does after its own ingest, so the timed refresh is the one a grown workspace gets.
            refresh_communities(engine.settings, engine.store, engine.embedder)
        return CopyRun(before.documents, *time_ingest(engine, corpus))
    finally:
        engine.close()
        shutil.rmtree(copy, ignore_errors=True)


def marginal(args: argparse.Namespace, work: Path) -> None:
    source = args.into / args.workspace
    if not (source / "graph.sqlite").is_file():
        raise SystemExit(f"{source} is not an embedded workspace")
    corpus = write_rows(work / "new.jsonl", read_rows(0, args.passages, args.source))
    results = []
    for label, data_dir in (("empty workspace", work / "empty"), ("grown workspace", args.into)):
        results.append((label, *ingest_into_copy(data_dir, work / "copy", corpus, args.workspace)))
    empty_rate = results[0][3] / results[0][2]
    print(f"{args.passages} new passages from {args.source}")
    print(f"{'into':<18}{'documents before':>18}{'seconds':>9}{'chunks/s':>10}{'vs empty':>10}{'communities s':>15}")
    for label, documents, seconds, chunks, refresh in results:
        rate = chunks / seconds
        print(f"{label:<18}{documents:>18}{seconds:>9.1f}{rate:>10.2f}{rate / empty_rate:>10.2f}{refresh:>15.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--neo4j-uri", default="")
    parser.add_argument("--neo4j-port", type=int, default=7698, help="port of the throw-away Neo4j")
    parser.add_argument("--no-neo4j", action="store_true", help="time the embedded store only")
    parser.add_argument("--stages", action="store_true", help="profile the embedded ingest stage by stage")
    parser.add_argument("--into", type=Path, help="data dir of a grown embedded workspace (see --workspace)")
    parser.add_argument("--workspace", default="default", help="the workspace under --into")
    parser.add_argument("--source", type=Path, default=NEW_PASSAGES, help="JSONL of passages new to it")
    parser.add_argument("--curve", action="store_true", help="marginal rate as the workspace grows (embedded)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="--curve: the passages to grow through")
    parser.add_argument("--curve-at", type=int, nargs="+", default=[1000, 5000, 10000])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amalgam-bench-"))
    if args.into:
        marginal(args, work)
    else:
        curve(args, work) if args.curve else compare(args, work)


if __name__ == "__main__":
    main()
