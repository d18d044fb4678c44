"""Cost of one large document: time and peak memory at growing sizes, to show linear growth.

    python bench/large_docs.py [--stage chunk|ingest] [--chunker sentence] [--sizes 64,256,1024] [--line-kb 2048]

Each size runs in a fresh process (peak RSS is per process) on prose from
../shared/datasets/multihop/corpus.jsonl cut to the size, plus one single-line file (the prose with
its line breaks replaced by spaces). ``--stage chunk`` runs what ``amalgam chunk`` runs (the loader
and the configured chunker); ``--stage ingest`` runs the whole ``Engine.ingest`` on an embedded store.
A tiny file gives the baseline RSS (libraries, models) so the growth per size is visible; the last
column is seconds per MB relative to the smallest size (1.0 = linear).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CORPUS = REPO.parent / "shared" / "datasets" / "multihop" / "corpus.jsonl"


def prose(size: int) -> str:
    parts, total = [], 0
    with CORPUS.open() as source:
        for line in source:
            text = json.loads(line)["text"]
            parts.append(text)
            total += len(text) + 2
            if total >= size:
                break
    return "\n\n".join(parts)[:size]


def measure(path: Path, stage: str, chunker: str) -> dict[str, float]:
    """Run in a child process: load settings and models, then time one file."""
    from app.config import load_settings

    settings = load_settings(data_dir=path.parent / f"data-{path.stem}", chunker=chunker)
    if stage == "ingest":
        from app.engine import Engine

        engine = Engine(settings)
        engine.embedder.embed(["warm up"])
        started = time.perf_counter()
        report = engine.ingest([path])
        seconds, chunks = time.perf_counter() - started, report.chunks
        engine.close()
    else:
        from app.cli_chunk import _make_chunker
        from ingest.loaders import load_path

        splitter = _make_chunker(chunker, settings)
        started = time.perf_counter()
        chunks = sum(len(splitter.chunk(doc)) for doc in load_path(path))
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "chunks": chunks}


def run_child(path: Path, stage: str, chunker: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(path), "--stage", stage, "--chunker", chunker]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", choices=["chunk", "ingest"], default="chunk")
    parser.add_argument("--chunker", default="sentence")
    parser.add_argument("--sizes", default="64,256,1024", help="prose sizes in KB")
    parser.add_argument("--line-kb", type=int, default=2048, help="size of the single-line file (0 = none)")
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child), args.stage, args.chunker)))
        return
    work = Path(tempfile.mkdtemp(prefix="amalgam-large-"))
    cases = [("baseline (tiny file)", "tiny.txt", "A short file. It has two sentences.")]
    for kb in (int(k) for k in args.sizes.split(",")):
        cases.append((f"prose {kb} KB", f"prose-{kb}.txt", prose(kb * 1024)))
    if args.line_kb:
        cases.append((f"single line {args.line_kb} KB", "line.txt", prose(args.line_kb * 1024).replace("\n", " ")))
    print(f"stage={args.stage} chunker={args.chunker}")
    print(f"{'file':<26}{'seconds':>10}{'peak RSS MB':>13}{'chunks':>9}{'s/MB':>9}{'vs smallest':>13}")
    first_rate = None
    for label, name, text in cases:
        path = work / name
        path.write_text(text, encoding="utf-8")
        result = run_child(path, args.stage, args.chunker)
        megabytes = len(text.encode()) / 1e6
        rate = result["seconds"] / megabytes
        ratio = ""
        if not label.startswith("baseline"):
            first_rate = first_rate or rate
            ratio = f"{rate / first_rate:.2f}"
        print(f"{label:<26}{result['seconds']:>10.2f}{result['peak_rss_mb']:>13.0f}{result['chunks']:>9.0f}"
              f"{rate:>9.2f}{ratio:>13}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
