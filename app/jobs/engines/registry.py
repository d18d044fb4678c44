"""Job engines by name. To add one: a class with ``name`` and ``run(JobRun) -> RunOutcome`` (see
``base.JobEngine``) in its own file, and a builder here."""

from __future__ import annotations

from collections.abc import Callable

from app.errors import UnknownComponentError
from app.jobs.engines.base import JobEngine


def _local(workers: int, ray_address: str | None) -> JobEngine:
    from app.jobs.engines.local import LocalEngine

    return LocalEngine(workers=workers)


def _ray(workers: int, ray_address: str | None) -> JobEngine:
    from app.jobs.engines.ray import RayEngine, require_ray

    require_ray()  # refused before a job is made, not when its first batch would run
    return RayEngine(workers=workers, address=ray_address)


_BUILDERS: dict[str, Callable[[int, str | None], JobEngine]] = {"local": _local, "ray": _ray}
ENGINE_NAMES = tuple(_BUILDERS)


def build_job_engine(name: str, *, workers: int = 1, ray_address: str | None = None) -> JobEngine:
    """The engine called ``name``: ``local`` (threads of this process) or ``ray`` (a Ray cluster)."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise UnknownComponentError("job engine", name, list(_BUILDERS))
    return builder(max(1, workers), ray_address)
