"""The job engine registry: names, options, a clear error for an unknown name, and the Ray extra missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from app.api.job_schemas import JobEngineName
from app.errors import MissingExtraError, UnknownComponentError
from app.jobs.engines import ENGINE_NAMES, JobRun, build_job_engine
from app.jobs.engines.local import LocalEngine
from app.jobs.engines.ray import RayEngine


def test_engines_are_built_by_name_with_their_options() -> None:
    assert ENGINE_NAMES == ("local", "ray")
    local = build_job_engine("local", workers=3)
    assert isinstance(local, LocalEngine) and local.name == "local" and local.workers == 3
    ray = build_job_engine("ray", workers=2, ray_address="ray://head:10001")
    assert isinstance(ray, RayEngine) and ray.name == "ray" and (ray.workers, ray.address) == (2, "ray://head:10001")
    assert build_job_engine("local", workers=0).workers == 1  # type: ignore[attr-defined]


def test_an_unknown_engine_is_refused_with_the_known_names() -> None:
    with pytest.raises(UnknownComponentError, match=r"unknown job engine 'spark'; known: local, ray"):
        build_job_engine("spark")


def test_the_rest_schema_offers_exactly_the_registered_engines() -> None:
    assert get_args(JobEngineName) == ENGINE_NAMES


def test_the_ray_engine_is_refused_when_built_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtraError, match=r"amalgam\[ray\]"):
        build_job_engine("ray")  # before any job is made, not at its first batch
    assert isinstance(build_job_engine("local"), LocalEngine)


def test_the_ray_engine_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra looks like
    run = JobRun(engine=None, store=None, job_id="job-x")  # type: ignore[arg-type]
    with pytest.raises(MissingExtraError, match=r"amalgam\[ray\]"):
        RayEngine().run(run)


def _amalgam(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AMALGAM_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True)


def test_the_cli_refuses_an_unknown_engine_before_making_a_job(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Ada Lovelace wrote the first program.")
    result = _amalgam(tmp_path, "jobs", "run", str(tmp_path / "a.txt"), "--engine", "spark")
    assert result.returncode == 1
    assert "unknown job engine 'spark'; known: local, ray" in result.stderr
    assert not list(tmp_path.rglob("jobs.sqlite"))  # no job was recorded


def test_the_cli_wants_the_ray_engine_for_a_ray_address(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Ada Lovelace wrote the first program.")
    result = _amalgam(tmp_path, "jobs", "run", str(tmp_path / "a.txt"), "--ray-address", "auto")
    assert result.returncode == 2 and "--ray-address needs --engine ray" in result.stderr
    assert not list(tmp_path.rglob("jobs.sqlite"))
