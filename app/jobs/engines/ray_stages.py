"""The Ray engine's map stages: callable classes that Ray Data runs as actor pools.

Each actor builds its one model from the ``Settings`` it is given (the chunker, the extractor or the
embedder), once, when the pool starts, and then prepares batches of files with it (``app/prepare.py``:
the same code ``amalgam ingest`` runs). A row is one input file: ``seq`` (its place in the job) and
``file``, a pickled ``PreparedFile``. Nothing here imports Ray or touches the store.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from app import services
from app.config import Settings
from app.llm.usage import TokenUsage
from app.prepare import PreparedFile, Preparer, read_file
from ingest.models import Document

log = logging.getLogger(__name__)

CHUNKERS_WITH_EMBEDDER = {"semantic", "perplexity", "margin"}  # these (or their fallbacks) embed sentences


def _files(batch: pd.DataFrame) -> list[PreparedFile]:
    return [pickle.loads(data) for data in batch["file"]]


def _rows(batch: pd.DataFrame, files: list[PreparedFile]) -> pd.DataFrame:
    return pd.DataFrame({"seq": batch["seq"].to_numpy(), "file": [pickle.dumps(f) for f in files]})


def _each_file(files: list[PreparedFile], step: Callable[[list[PreparedFile]], None]) -> None:
    """``step`` over the files that are still good, all at once; if it raises, file by file, so only the
    file at fault fails (with the exception as its reason)."""
    good = [f for f in files if not f.error]
    try:
        step(good)
        return
    except Exception as exc:  # noqa: BLE001 - one file's failure must not end the job
        if len(good) == 1:
            good[0].error = f"{good[0].path}: {type(exc).__name__}: {exc}"
            good[0].documents = []
            log.warning("%s", good[0].error)
            return
    for file in good:
        _each_file([file], step)


class ReadAndChunk:
    """Stage 1: read each file (on the worker: inputs must be at the same path there) and chunk it."""

    def __init__(self, settings: Settings) -> None:
        embedder = services.get_embedder(settings) if settings.chunker in CHUNKERS_WITH_EMBEDDER else None
        self.preparer = Preparer(chunker=services.get_chunker(settings, embedder))
        self.max_bytes = settings.ingest_max_file_mb * 1024 * 1024

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        files = []
        for path in batch["path"]:
            read = read_file(Path(path), self.max_bytes)
            file = PreparedFile(read.path, problems=read.problems, error=read.error)
            if not read.error:
                self._chunk(file, read.documents)
            files.append(file)
        return _rows(batch, files)

    def _chunk(self, file: PreparedFile, documents: list[Document]) -> None:
        try:
            file.documents = self.preparer.chunk(documents)
        except Exception as exc:  # noqa: BLE001 - one file's failure must not end the job
            file.error = f"{file.path}: {type(exc).__name__}: {exc}"
            log.warning("%s", file.error)


class Extract:
    """Stage 2: entities and relations of every chunk of a batch of files, in one extractor call."""

    def __init__(self, settings: Settings) -> None:
        self.usage = TokenUsage()  # this actor's LLM tokens, handed on with the files
        self.preparer = Preparer(extractor=services.get_extractor(settings, self.usage))

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        files = _files(batch)
        prompt, completion = self.usage.prompt_tokens, self.usage.completion_tokens
        _each_file(files, lambda good: self.preparer.extract([d for f in good for d in f.documents]))
        if files:  # the batch's tokens, on its first file (a job's total is exact; a batch's may shift by one)
            files[0].prompt_tokens += self.usage.prompt_tokens - prompt
            files[0].completion_tokens += self.usage.completion_tokens - completion
        return _rows(batch, files)


class Embed:
    """Stage 3: chunk vectors and mention context vectors, one encoder pass over a batch of files."""

    def __init__(self, settings: Settings) -> None:
        self.preparer = Preparer(embedder=services.get_embedder(settings))

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        files = _files(batch)
        _each_file(files, lambda good: self.preparer.embed([d for f in good for d in f.documents]))
        return _rows(batch, files)
