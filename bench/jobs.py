"""Batch job throughput on the local engine (1 and 2 workers) and the Ray engine (2 CPUs), same run.

    python bench/jobs.py [--passages 1000] [--per-file 100] [--runs local:1 local:2 ray:2] [--chunker sentence]

The first ``--passages`` passages of ../shared/datasets/multihop/corpus.jsonl, written as JSONL files of
``--per-file`` passages, each run into a fresh embedded workspace through ``Jobs`` (what ``amalgam jobs
run`` calls). A run is ``local:N`` (the local engine, N worker threads) or ``ray:N`` (the Ray engine on a
local Ray of N CPUs, one actor per stage). The driver's models are loaded and warmed before the clock
starts; a Ray run's clock includes starting its actors and loading their models, which every Ray job
pays. Documents/s = documents stored by the job / the job's elapsed time. A throw-away warm-up job in
another workspace runs first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.config import load_settings  # noqa: E402
from app.engine import Engine  # noqa: E402
from app.jobs import JobDetail, Jobs  # noqa: E402

CORPUS = REPO.parent / "shared" / "datasets" / "multihop" / "corpus.jsonl"


def write_files(folder: Path, passages: int, per_file: int) -> None:
    folder.mkdir(parents=True)
    with CORPUS.open() as source:
        rows = [json.loads(line) for line in itertools.islice(source, passages)]
    for start in range(0, len(rows), per_file):
        part = rows[start : start + per_file]
        lines = "".join(json.dumps({"id": r["id"], "title": r["title"], "text": r["text"]}) + "\n" for r in part)
        (folder / f"part_{start // per_file:03d}.jsonl").write_text(lines)


def run_job(data_dir: Path, inputs: list[Path], run: str, chunker: str | None) -> JobDetail:
    name, number = run.split(":")
    overrides = {"chunker": chunker} if chunker else {}
    engine = Engine(load_settings(data_dir=data_dir, **overrides))
    jobs = Jobs(engine)
    try:
        engine.pipeline  # noqa: B018 - loads the models (embedder, chunker, extractor) before the clock starts
        job = jobs.create(inputs, name=f"bench {run}")
        if name == "ray":
            import ray

            ray.init(num_cpus=int(number), include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            try:
                return jobs.run(job.id, engine="ray", workers=1)
            finally:
                ray.shutdown()
        return jobs.run(job.id, engine=name, workers=int(number))
    finally:
        jobs.close()
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--runs", nargs="+", default=["local:1", "local:2", "ray:2"], help="engine:workers|cpus")
    parser.add_argument("--chunker", default=None, help="default: the configured chunker")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amalgam-bench-jobs-"))
    write_files(work / "inbox", args.passages, args.per_file)
    write_files(work / "warm-up", 20, 10)
    # A throw-away job first: the process's one-time costs (model files, first kernels) fall on no timed run.
    run_job(work / "warm-up-workspace", [work / "warm-up"], "local:1", args.chunker)

    rows = []
    for number, run in enumerate(args.runs):
        job = run_job(work / f"run-{number}-{run.replace(':', '-')}", [work / "inbox"], run, args.chunker)
        assert job.status == "done" and not job.failures, job.error or job.failures
        c = job.counts
        rows.append((run, c.documents, c.chunks, c.entities, job.elapsed_s, c.documents / job.elapsed_s))
        print(f"{run}: {c.documents} documents, {c.chunks} chunks in {job.elapsed_s:.1f} s", flush=True)

    base = rows[0][5]
    print(f"\n| run | documents | chunks | entities | seconds | documents/s | ratio to {rows[0][0]} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run, documents, chunks, entities, seconds, rate in rows:
        print(f"| {run} | {documents} | {chunks} | {entities} | {seconds:.1f} | {rate:.2f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
