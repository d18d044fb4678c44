"""Retries with exponential backoff and jitter for in-process model calls.

HTTP providers get theirs from the OpenAI client (``max_retries``); local backends (transformers,
llama.cpp) use this so that every provider honours ``Settings.llm_max_retries`` the same way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def backoff_delay(attempt: int, base_s: float = 0.5, cap_s: float = 8.0) -> float:
    """Delay before retry ``attempt`` (1-based): base * 2^(attempt-1), capped, with +-25% jitter."""
    delay = min(cap_s, base_s * (2 ** (attempt - 1)))
    return delay * random.uniform(0.75, 1.25)


def call_with_retry(
    fn: Callable[[], T],
    *,
    max_retries: int,
    base_delay_s: float = 0.5,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; on a ``retry_on`` error retry up to ``max_retries`` times, then re-raise the last."""
    attempt = 0
    while True:
        try:
            return fn()
        except retry_on:
            attempt += 1
            if attempt > max_retries:
                raise
            sleep(backoff_delay(attempt, base_delay_s))
