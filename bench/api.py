"""REST load: concurrent clients on ``POST /v1/search`` (hybrid retrieval, no answer text), loopback only.

The workspace is built by the product's own ingest (``amalgam ingest`` of the first N corpus passages as one
JSONL file, cached under the cache dir), then served by ``amalgam serve`` in a subprocess. For each client
count, every client sends dev questions one after another for ``--seconds``; the run is bounded in time and
count and talks to 127.0.0.1 only. With ``--during-ingest`` each level is repeated while another batch of
passages is uploaded through ``POST /v1/documents`` (a write holding the workspace's write lock).

    python bench/api.py [--passages 10000] [--clients 1 20 50] [--seconds 60] [--during-ingest]
    python bench/api.py ... --variant AMALGAM_TORCH_THREADS=1   # the same code with other settings, beside it

The 1-client row is the same run's baseline: the other rows' latencies are compared with it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import start_server, stop_server  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "multihop"
CACHE = Path.home() / ".cache" / "amalgam" / "bench-api"
MAX_REQUESTS_PER_LEVEL = 100_000  # a bound on top of the time limit


def write_corpus(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps({"id": r["id"], "title": r["title"], "text": r["text"]}) + "\n" for r in rows))


def corpus_rows(start: int, count: int) -> list[dict]:
    with (DATASET / "corpus.jsonl").open() as source:
        return [json.loads(line) for line in itertools.islice(source, start, start + count)]


def build_workspace(passages: int, env: dict[str, str]) -> Path:
    """The first ``passages`` corpus rows ingested with ``amalgam ingest``, once per size."""
    data_dir = CACHE / f"passages-{passages}"
    marker = data_dir / "built.json"
    if marker.exists():
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    corpus = data_dir / "corpus.jsonl"
    write_corpus(corpus, corpus_rows(0, passages))
    started = time.perf_counter()
    subprocess.run(["amalgam", "ingest", str(corpus)], env={**env, "AMALGAM_DATA_DIR": str(data_dir)}, check=True)
    marker.write_text(json.dumps({"passages": passages, "ingest_s": time.perf_counter() - started}))
    return data_dir


async def load_level(
    base: str, questions: list[str], clients: int, seconds: float, endpoint: str = "/v1/search"
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    sent = itertools.count()
    stop_at = time.monotonic() + seconds

    async def client(offset: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in itertools.count(offset):
            if time.monotonic() >= stop_at or next(sent) >= MAX_REQUESTS_PER_LEVEL:
                return
            started = time.perf_counter()
            try:
                response = await http.post(endpoint, json={"question": questions[i % len(questions)]})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(n * 7, http) for n in range(clients)))
        elapsed = time.perf_counter() - began
    done = np.array(latencies) if latencies else np.array([float("nan")])
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(done, 50)),
        "p95": float(np.percentile(done, 95)),
        "p99": float(np.percentile(done, 99)),
    }


def upload_in_background(base: str, rows: list[dict], folder: Path) -> threading.Thread:
    corpus = folder / "extra.jsonl"
    write_corpus(corpus, rows)

    def upload() -> None:
        with httpx.Client(base_url=base, timeout=3600) as http:
            http.post("/v1/documents", files={"file": (corpus.name, corpus.read_bytes())})

    thread = threading.Thread(target=upload, daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 20, 50])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--during-ingest", action="store_true", help="repeat each level while an upload ingests")
    parser.add_argument("--ingest-passages", type=int, default=500)
    parser.add_argument("--questions", type=int, default=200, help="dev questions the clients cycle through")
    parser.add_argument("--warmup-seconds", type=float, default=60)
    parser.add_argument("--workspace", default="", help="serve this existing workspace of --data-dir instead")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--before-code", type=Path, default=None, help="an older checkout to serve beside it")
    parser.add_argument("--endpoint", default="/v1/search", help="/v1/ask also answers (extractive offline)")
    parser.add_argument(
        "--variant", nargs="+", default=[], metavar="KEY=VALUE", help="serve the current code again with these settings"
    )
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "AMALGAM_RETRIEVAL_MODE": "hybrid"}
    if args.workspace:  # an existing workspace (e.g. one `amalgam eval` built), served as it is
        data_dir, env["AMALGAM_WORKSPACE"] = args.data_dir.resolve(), args.workspace
        built: dict[str, float] = {}
    else:
        data_dir = build_workspace(args.passages, env)
        built = json.loads((data_dir / "built.json").read_text())
    dev = [json.loads(line) for line in (DATASET / "questions.jsonl").open()]
    questions = [q["question"] for q in dev if q["split"] == "dev"][: args.questions]
    servers = [("current", *start_server(data_dir, env))]
    if args.before_code:  # the same workspace served by an older checkout, measured level by level beside it
        old_env = {**env, "PYTHONPATH": str(args.before_code.resolve())}
        servers.insert(0, ("before", *start_server(data_dir, old_env)))
    base = servers[-1][2]  # the code under test: the during-ingest levels load it alone
    if args.variant:  # the same code with other settings (e.g. torch threads), measured level by level beside it
        overrides = dict(item.split("=", 1) for item in args.variant)
        servers.append((" ".join(args.variant), *start_server(data_dir, {**env, **overrides})))
    rows = []
    try:
        # Warm-up: one pass over the questions the clients will send, so that every level meets the
        # steady state (models loaded, the entity names these questions reach already embedded).
        for _, _, url in servers:
            asyncio.run(load_level(url, questions, 4, args.warmup_seconds, args.endpoint))
        for clients in args.clients:
            for label, _, url in servers:
                rows.append((label, asyncio.run(load_level(url, questions, clients, args.seconds, args.endpoint))))
        if args.during_ingest:
            extra = corpus_rows(args.passages, args.ingest_passages * len(args.clients))
            with tempfile.TemporaryDirectory() as folder:
                for n, clients in enumerate(args.clients):
                    batch = extra[n * args.ingest_passages : (n + 1) * args.ingest_passages]
                    upload = upload_in_background(base, batch, Path(folder))
                    time.sleep(2)  # let the upload reach the ingest
                    rows.append(
                        (
                            "current, ingesting",
                            asyncio.run(load_level(base, questions, clients, args.seconds, args.endpoint)),
                        )
                    )
                    upload.join(timeout=3600)
    finally:
        for _, process, _ in servers:
            stop_server(process)
    origin = (
        f"workspace {args.workspace} of {args.data_dir}"
        if args.workspace
        else f"{args.passages} passages ingested with `amalgam ingest` in {built['ingest_s']:.0f} s"
    )
    print(f"\n{origin}; POST {args.endpoint}, hybrid, {args.seconds:.0f} s per level, {os.cpu_count()} cores, loopback")
    print("| server | clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | p50 / 1-client p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    baseline = next((r["p50"] for label, r in rows if r["clients"] == 1 and label == "current"), float("nan"))
    for label, r in rows:
        print(
            f"| {label} | {r['clients']} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | {r['p50']:.0f} | "
            f"{r['p95']:.0f} | {r['p99']:.0f} | {r['p50'] / baseline:.1f}x |"
        )
    sys.exit(1 if any(r["errors"] for _, r in rows) else 0)


if __name__ == "__main__":
    main()
