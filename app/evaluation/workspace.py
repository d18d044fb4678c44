"""Benchmark workspaces, built the one way a user builds one: the corpus written as a JSONL file (``id``,
``title``, ``text`` per passage, the format ``amalgam ingest`` reads) and ingested by ``Engine.ingest``
with the chunker, extractor and resolver the user's ``Settings`` choose.

A built workspace is reused only when its marker file names the same corpus hash, the same value of every
setting that changes what ingest writes, the same ``WORKSPACE_FORMAT`` and the same ingest code (a digest of
the code of the packages that ingest runs, comments and formatting left out); the workspace's name is a hash of
all but the code, so another corpus or setting gets its own workspace, and a workspace built by older code is
rebuilt in place rather than left beside the new one. An interrupted
build resumes: ingest skips the documents it already finished.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from app.config import Settings
from app.engine import Engine
from app.evaluation.datasets import DatasetError, Passage
from retrieval.retriever import HybridRetriever

log = logging.getLogger(__name__)

# Bump when the corpus file's format or what the harness expects of a workspace changes: older ones rebuild.
WORKSPACE_FORMAT = 1
MARKER = "eval-workspace.json"
BUILD_FILE = "eval-build.json"  # ingest wall time and the graph's counts, for the benchmark docs
CORPUS_FILE = "corpus.jsonl"
# Settings that change what ingest writes (graph, chunks, vectors) or where it writes it. Others (device,
# batch sizes, retrieval and answer knobs) leave the built workspace as it is.
INGEST_SETTINGS = (
    "embedding_model",
    "chunker",
    "chunk_target_tokens",
    "chunk_max_tokens",
    "chunk_lm",
    "extractor",
    "llm_provider",
    "llm_model",
    "llm_base_url",
    "llm_temperature",
    "llm_max_tokens",
    "extraction_entity_types",
    "extraction_relation_types",
    "extraction_gleaning",
    "graph_backend",
    "neo4j_uri",
    "neo4j_database",
)
REPO = Path(__file__).resolve().parents[2]
# The code that decides what ingest writes: loaders, chunkers, extractors, fusion, stores, the index writers,
# the pipeline and the community build. A change to any of it rebuilds cached workspaces.
INGEST_CODE = (
    "ingest",
    "graph",
    "retrieval/index",
    "retrieval/embeddings.py",
    "app/pipeline.py",
    "app/prepare.py",
    "app/communities.py",
    "app/services.py",
)
# Inside those folders but run only when a question is asked (retrieval/graph.py's PageRank and FastRP): a
# change there cannot change a built workspace, so it does not rebuild one. tests/unit guard that no ingest
# module imports them.
QUESTION_TIME_CODE = ("graph/algorithms",)


@dataclass
class EvalWorkspace:
    """An ingested benchmark corpus: its engine (store, embedder, the product's retriever) and the passage
    each chunk came from (a passage cut into several chunks is still one passage)."""

    engine: Engine
    chunk_to_passage: dict[str, str]
    built: bool  # this call ingested (False: the cached workspace was reused)

    @property
    def retriever(self) -> HybridRetriever:
        return self.engine.retriever  # type: ignore[no-any-return]

    def close(self) -> None:
        self.engine.close()


def corpus_jsonl(passages: list[Passage]) -> bytes:
    """The corpus as ``amalgam ingest`` reads it: one ``{"id", "title", "text"}`` object per line."""
    lines = (json.dumps({"id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False) for p in passages)
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def ingest_key(settings: Settings, corpus: bytes) -> dict[str, Any]:
    """Everything a built workspace depends on; equal keys mean the same workspace would be built."""
    values = {name: _plain(getattr(settings, name)) for name in INGEST_SETTINGS}
    return {
        "format": WORKSPACE_FORMAT,
        "corpus_sha256": hashlib.sha256(corpus).hexdigest(),
        "settings": values,
        "code": ingest_code_digest(),
    }


def workspace_name(key: dict[str, Any]) -> str:
    """The folder name: from everything but the code, so newer code rebuilds the same folder."""
    named = {field: value for field, value in key.items() if field != "code"}
    digest = hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()
    return f"eval-{digest[:16]}"


@lru_cache(maxsize=4)
def ingest_code_digest(
    base: Path = REPO, roots: tuple[str, ...] = INGEST_CODE, skipped: tuple[str, ...] = QUESTION_TIME_CODE
) -> str:
    """A hash of the ingest code's syntax trees (``roots`` less ``skipped``): a changed line of code changes
    it, a comment or a reformatting does not (a docstring does: it is part of the tree)."""
    digest = hashlib.sha256()
    for root in roots:
        path = base / root
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if any(file.is_relative_to(base / folder) for folder in skipped):
                continue
            digest.update(file.relative_to(base).as_posix().encode())
            digest.update(ast.dump(ast.parse(file.read_text(encoding="utf-8"))).encode())
    return digest.hexdigest()[:16]


def open_workspace(settings: Settings, passages: list[Passage], *, console: Console | None = None) -> EvalWorkspace:
    """The workspace of ``passages`` under ``settings`` (its own workspace name), ingested unless cached."""
    if not passages:
        raise DatasetError("no passages to build a workspace from")
    corpus = corpus_jsonl(passages)
    key = ingest_key(settings, corpus)
    ws_settings = settings.model_copy(update={"workspace": workspace_name(key)})
    marker = ws_settings.workspace_dir / MARKER
    if marker.is_file() and _read_marker(marker) != key:
        log.warning("%s was built from other settings or older code: rebuilding it", ws_settings.workspace_dir)
        _wipe(ws_settings)
    engine = Engine(ws_settings)
    built = not marker.is_file()
    try:
        if built:
            _ingest(engine, corpus, len(passages), console or Console(stderr=True))
        chunk_to_passage = passage_of_chunks(engine)
        missing = {p.id for p in passages} - set(chunk_to_passage.values())
        if missing:
            raise DatasetError(
                f"{ws_settings.workspace_dir}: {len(missing)} passages have no chunk (e.g. {sorted(missing)[:3]}); "
                f"delete that folder to rebuild it"
            )
        if built:
            _write_atomic(marker, json.dumps(key, indent=2, sort_keys=True).encode())
    except BaseException:
        engine.close()
        raise
    return EvalWorkspace(engine, chunk_to_passage, built)


def passage_of_chunks(engine: Engine) -> dict[str, str]:
    """Chunk id -> passage id, through each chunk's document (a JSONL row keeps its ``id`` as ``row_id``)."""
    row_of = {
        doc.id: doc.metadata.get("row_id") or doc.source.rsplit("#", 1)[-1] for doc in engine.store.list_documents()
    }
    return {chunk.id: row_of[chunk.doc_id] for chunk in engine.store.iter_chunks() if chunk.doc_id in row_of}


def warm_entity_names(workspace: EvalWorkspace) -> None:
    """Embed every entity name up front, into the engine's names (read from the workspace's name cache when
    it opened, written back when it closes, so ``amalgam serve`` on it starts warm too): latency figures then
    measure the search, not the first embedding."""
    mentions = getattr(workspace.retriever.multihop, "mentions", None)
    if mentions is not None:
        mentions.warm()


def progress_bar(console: Console) -> Progress:
    """The evaluation's progress bars (the build's, the scoring's): done of total, elapsed, remaining."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console)


def _ingest(engine: Engine, corpus: bytes, total: int, console: Console) -> None:
    path = (engine.settings.workspace_dir / CORPUS_FILE).resolve()
    _write_atomic(path, corpus)
    done = sum(1 for doc in engine.store.list_documents() if doc.hash)  # finished by an interrupted build
    console.print(f"building the benchmark workspace {engine.settings.workspace_dir} ({total} passages)")
    with progress_bar(console) as bar:
        passages = bar.add_task("passages", total=total, completed=done)
        chunks = bar.add_task("chunks", total=None)
        tasks = {"document": passages, "chunk": chunks}

        growth = GrowthLog(done)

        def progress(event: str, amount: int) -> None:
            if event in tasks:
                bar.advance(tasks[event], amount)
            if event == "document":
                growth.advance(amount)

        started = time.perf_counter()
        report = engine.ingest([path], progress)
        seconds = time.perf_counter() - started
    if report.errors:
        raise DatasetError("; ".join(error.error for error in report.errors))
    stats = engine.store.stats()
    build = {"ingest_seconds": round(seconds, 1), "passages": total, **stats.model_dump(), "growth": growth.steps}
    _write_atomic(engine.settings.workspace_dir / BUILD_FILE, json.dumps(build, indent=2).encode())
    console.print(f"ingested {report.documents_new} passages in {seconds:.0f} s; the workspace holds {stats}")
    for line in growth.table():
        console.print(line)


class GrowthLog:
    """How the ingest rate changes as the workspace grows: the time of each ``every`` passages.

    The same single ``Engine.ingest`` call that builds the workspace is timed, so the curve is the one a
    user's ``amalgam ingest`` of the whole corpus has, not a re-run in slices."""

    def __init__(self, done: int, every: int = 1000) -> None:
        self.every = every
        self.done = done
        self.steps: list[dict[str, float]] = []  # {"in_workspace", "passages", "seconds"} per step
        self._step_start, self._clock = done, time.perf_counter()

    def advance(self, amount: int) -> None:
        self.done += amount
        if self.done - self._step_start >= self.every:
            now = time.perf_counter()
            step = {"in_workspace": self._step_start, "passages": self.done - self._step_start}
            self.steps.append({**step, "seconds": round(now - self._clock, 2)})
            self._step_start, self._clock = self.done, now

    def table(self) -> list[str]:
        """One line per step: its rate and the ratio to the first step's (the empty workspace's) rate."""
        if not self.steps:
            return []
        first = _rate(self.steps[0])
        lines = [f"{'in workspace':>12}{'passages':>10}{'seconds':>9}{'passages/s':>12}{'vs first':>10}"]
        for step in self.steps:
            rate = _rate(step)
            lines.append(
                f"{step['in_workspace']:>12.0f}{step['passages']:>10.0f}{step['seconds']:>9.1f}{rate:>12.2f}"
                f"{rate / first:>10.2f}"
            )
        return lines


def _rate(step: dict[str, float]) -> float:
    return step["passages"] / max(step["seconds"], 0.01)  # a step timed at 0.00 s (rounded) is still a rate


def build_record(settings: Settings) -> dict[str, Any] | None:
    """How long the (last, possibly resumed) ingest of this workspace took and what it holds."""
    found = _read_marker(settings.workspace_dir / BUILD_FILE)
    return found if isinstance(found, dict) else None


def _wipe(settings: Settings) -> None:
    engine = Engine(settings)
    try:
        engine.store.clear()
    finally:
        engine.close()
    shutil.rmtree(settings.workspace_dir, ignore_errors=True)


def _read_marker(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # a reader never sees half a file


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Path) else value
