"""The Ray engine: a job's files prepared by Ray Data actor pools, written in batches on the driver.

    read + chunk  ──>  extract  ──>  embed          (map_batches stages, each an actor pool; ray_stages.py)
                                       │
    driver: Pipeline.write_prepared per job batch  (fusion, graph and index writes; the job record)

Actors load their model once and prepare batches of files with the same code ``amalgam ingest`` runs
(``app/prepare.py``). The driver writes each job batch as ``Engine.ingest`` would have (same batches,
same entity resolution, same checkpoints), so the graph equals the local engine's. Rows come back in
the job's order (``preserve_order``): a batch is written once all its files have arrived, and the cancel
flag is read before each. See docs/jobs.md for running on a cluster.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from app.errors import MissingExtraError, StoreUnavailableError
from app.jobs.engines.base import JobRun, RunOutcome, file_by_file
from app.jobs.models import JobFile
from app.prepare import PreparedFile

log = logging.getLogger(__name__)

SHIPPED_PACKAGES = ("app", "ingest", "graph", "retrieval")  # the code a remote cluster's workers import
STAGES = 3


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library comes with the extra, not with bare ray
    except ImportError as exc:
        raise MissingExtraError("ray[data]", "ray") from exc
    return ray


def require_ray() -> None:
    """``MissingExtraError`` unless the ray extra is installed; finds the packages without importing them
    (importing Ray takes seconds, which a REST request that only creates a job should not pay)."""
    from importlib.util import find_spec

    if find_spec("ray") is None or find_spec("pandas") is None:  # ray.data's own import needs pandas
        raise MissingExtraError("ray[data]", "ray")


@dataclass
class RayEngine:
    workers: int = 1  # actors per stage
    address: str | None = None  # a cluster ("ray://head:10001", "auto"); None: this process's Ray, or a new local one
    name: str = "ray"
    _started: bool = field(default=False, repr=False)

    def run(self, job: JobRun) -> RunOutcome:
        ray = _ray()
        batches = job.pending_batches()
        if not batches:
            return job.interruption() or RunOutcome()
        self._connect(ray)
        try:
            return self._run(ray, job, batches)
        finally:
            if self._started:
                ray.shutdown()
                self._started = False

    # -- the cluster -------------------------------------------------------------------------------
    def _connect(self, ray: Any) -> None:
        """Join the Ray the process already runs, else the given cluster, else start a local one; quietly."""
        if ray.is_initialized():
            return
        runtime_env = None
        if self.address:  # a remote cluster's workers get this checkout's code; local ones share our sys.path
            import importlib

            runtime_env = {"py_modules": [importlib.import_module(name) for name in SHIPPED_PACKAGES]}
        ray.init(
            address=self.address, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
            logging_level=logging.ERROR, configure_logging=True,
        )  # fmt: skip
        self._started = True

    def _dataset(self, ray: Any, job: JobRun, batches: list[tuple[int, list[JobFile]]]) -> Any:
        from app.jobs.engines.ray_stages import Embed, Extract, ReadAndChunk  # pandas: with the extra

        settings = job.engine.settings
        rows = [{"seq": f.seq, "path": f.path} for _, files in batches for f in files]
        files_per_batch = max(1, max(len(files) for _, files in batches))
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        # Every stage's pool must fit at once, or the pipeline stalls; an actor never asks for more than one CPU.
        per_actor = min(1.0, cpus / (STAGES * self.workers))
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # rows come back in the job's order
        context.enable_progress_bars = False  # the CLI shows its own
        pool = ray.data.ActorPoolStrategy(size=self.workers)  # each actor loads its model once
        stage = {"batch_size": files_per_batch, "batch_format": "pandas", "num_cpus": per_actor, "compute": pool,
                 "fn_constructor_args": (settings,)}  # fmt: skip
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        return dataset.map_batches(ReadAndChunk, **stage).map_batches(Extract, **stage).map_batches(Embed, **stage)

    # -- the driver --------------------------------------------------------------------------------
    def _run(self, ray: Any, job: JobRun, batches: list[tuple[int, list[JobFile]]]) -> RunOutcome:
        _quiet(ray)
        prepared = self._prepared(self._dataset(ray, job, batches))
        try:
            for batch, files in batches:
                stopped = job.interruption()
                if stopped is not None:
                    return stopped
                arrived = [next(prepared) for _ in files]
                try:
                    self._write_batch(job, batch, files, arrived)
                except StoreUnavailableError as exc:
                    return RunOutcome("failed", f"graph store unavailable: {exc}")
        finally:
            prepared.close()  # stops the stages when the run ends early
        return RunOutcome()

    @staticmethod
    def _prepared(dataset: Any) -> Generator[PreparedFile, None, None]:
        for row in dataset.iter_rows():
            yield pickle.loads(row["file"])

    def _write_batch(self, job: JobRun, batch: int, files: list[JobFile], arrived: list[PreparedFile]) -> None:
        job.start_batch(files)
        usage = job.engine.usage
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
        reports = file_by_file(arrived, lambda some: job.engine.write_prepared(some, job.progress))
        tokens = (
            usage.prompt_tokens - prompt + sum(f.prompt_tokens for f in arrived),
            usage.completion_tokens - completion + sum(f.completion_tokens for f in arrived),
        )
        job.finish_batch(batch, files, reports, tokens)


def _quiet(ray: Any) -> None:
    """Ray Data's own logging (plans, operator stats) down to errors: the CLI shows the progress."""
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


__all__ = ["RayEngine"]
