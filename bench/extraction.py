"""How much JSON-schema constrained decoding raises a small model's valid-output rate.

Same model, same chunks, same run: every chunk is extracted three times: with the extraction
schema turned into a llama.cpp grammar ("constrained", lists capped at 24 items), the same with
lists capped at 6 ("tight"), and as free text ("free"); the modes are interleaved chunk by chunk,
rotating which goes first, so that machine load hits all alike.

    python bench/extraction.py --chunks 24 --max-tokens 256

Figures per mode: first reply valid (strict JSON matching the schema, nothing repaired), usable
without a retry (after local repair), usable after one retry, statuses, entities and relations
per chunk, calls, tokens, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.config import Settings  # noqa: E402
from app.llm.factory import build_chat_model  # noqa: E402
from graph.extraction.llm import ChunkReport, ExtractionReport, LLMExtractor  # noqa: E402
from ingest.models import Chunk, Document  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multihop" / "corpus.jsonl"
MODES = ("constrained", "tight", "free")  # tight: constrained, at most TIGHT_ITEMS per list
TIGHT_ITEMS = 6


def sample_chunks(count: int, max_chars: int) -> list[Chunk]:
    """Every k-th passage of the corpus (deterministic), cut at a sentence end near ``max_chars``."""
    rows = [json.loads(line) for line in CORPUS.open()]
    step = max(1, len(rows) // count)
    chunks = []
    for row in rows[::step][:count]:
        text = row["text"]
        if len(text) > max_chars:
            cut = text.rfind(". ", 0, max_chars)
            text = text[: cut + 1] if cut > 0 else text[:max_chars]
        doc = Document.from_text(text, source=f"{CORPUS}#{row['id']}", title=row["title"])
        chunks.append(Chunk.from_span(doc, 0, 0, len(text), "bench"))
    return chunks


def summary(reports: list[ChunkReport], tally: ExtractionReport, seconds: float) -> dict[str, float]:
    n = len(reports)
    parsed = [r for r in reports if r.status != "failed"]
    return {
        "first_reply_valid": sum(r.first_reply_valid for r in reports) / n,
        "usable_without_retry": sum(r.calls == 1 for r in parsed) / n,  # repaired at most, no retry
        "usable": len(parsed) / n,
        **{status: float(sum(r.status == status for r in reports)) for status in ("ok", "repaired", "empty", "failed")},
        "entities_per_chunk": sum(r.entities for r in reports) / n,
        "relations_per_chunk": sum(r.relations for r in reports) / n,
        "calls_per_chunk": tally.calls / n,
        "completion_tokens_per_chunk": tally.completion_tokens / n,
        "seconds_per_chunk": seconds / n,
    }


def run(chunks: list[Chunk], settings: Settings, max_tokens: int) -> dict[str, dict[str, float]]:
    model = build_chat_model(settings, max_tokens=max_tokens)
    extractors = {
        "constrained": LLMExtractor(model),
        "tight": LLMExtractor(model, max_items=TIGHT_ITEMS),
        "free": LLMExtractor(model, use_structured_output=False),
    }
    reports: dict[str, list[ChunkReport]] = {mode: [] for mode in MODES}
    totals = {mode: ExtractionReport(chunks=[]) for mode in MODES}
    seconds = dict.fromkeys(MODES, 0.0)
    for index, chunk in enumerate(chunks):
        for mode in MODES[index % 3 :] + MODES[: index % 3]:  # rotate who goes first
            started = time.perf_counter()
            _, report = extractors[mode].extract_with_report([chunk])
            seconds[mode] += time.perf_counter() - started
            reports[mode] += report.chunks
            totals[mode].calls += report.calls
            totals[mode].completion_tokens += report.completion_tokens
        line = "  ".join(f"{m}={reports[m][-1].status}" for m in MODES)
        print(f"[{index + 1}/{len(chunks)}] {line}", file=sys.stderr, flush=True)
    return {mode: summary(reports[mode], totals[mode], seconds[mode]) for mode in MODES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--max-chars", type=int, default=500)
    parser.add_argument("--model", default="smollm2", help="GGUF path or packaged model name")
    args = parser.parse_args()

    chunks = sample_chunks(args.chunks, args.max_chars)
    settings = Settings(llm_provider="llamacpp", llm_model=args.model, llm_timeout_s=600, llm_max_retries=0)
    results = run(chunks, settings, args.max_tokens)

    print(f"\n{len(chunks)} chunks, model {args.model}, max_tokens {args.max_tokens}, llamacpp provider\n")
    print(f"| metric | constrained (max {24} items) | tight (max {TIGHT_ITEMS} items) | free |")
    print("| --- | --- | --- | --- |")
    for metric in results["constrained"]:
        print(f"| {metric} | " + " | ".join(f"{results[mode][metric]:.3f}" for mode in MODES) + " |")


if __name__ == "__main__":
    main()
