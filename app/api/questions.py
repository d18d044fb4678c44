"""Admission for question work: at most ``question_concurrency`` retrievals run at once, process-wide.

A retrieval is CPU work (the question's embedding, the graph, TreeHop, fusion), several threads of it per
question. Twenty of them at once on two cores finish no sooner than one after another, and the switching
between their ~100 threads costs CPU of its own; so the API runs as many as there are cores and lets the
rest wait. They wait as coroutines on a capacity limiter, not as threads blocked on a lock, so waiting
questions hold no worker thread: ``/healthz``, document and job routes stay responsive under any load, and
nothing that a running question needs can be held by a waiting one (the deadlock of issue 12 cannot recur).
Answer generation (an LLM call, mostly waiting) runs outside the slots, through starlette's
``run_in_threadpool``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request

P = ParamSpec("P")
T = TypeVar("T")


def question_slots(configured: int, workers: int = 1) -> int:
    """How many questions run at once in this process: the setting, else its share of the CPU cores it may run
    on when ``workers`` server processes share them (at least one)."""
    if configured:
        return configured
    # The cores of the process's affinity mask (a container's cpuset), not every core the machine has.
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cores = len(usable) if usable else os.cpu_count() or 1
    return max(1, cores // workers)


def _limiter(app: FastAPI) -> anyio.CapacityLimiter:
    # Made on first use, inside the event loop (a limiter belongs to one loop); the check and the assignment
    # have no await between them, so two requests cannot make two limiters.
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "question_limiter", None)
    if limiter is None:
        settings = app.state.settings
        limiter = anyio.CapacityLimiter(question_slots(settings.question_concurrency, settings.api_workers))
        app.state.question_limiter = limiter
    return limiter


async def run_question(request: Request, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on a worker thread once a question slot is free."""
    return await anyio.to_thread.run_sync(functools.partial(work, *args, **kwargs), limiter=_limiter(request.app))
