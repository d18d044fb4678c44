"""Which float type the chunking LM runs in on this CPU: float32, or bfloat16 where it is measured faster.

A CPU without bf16 instructions emulates it: 2.4-2.9x slower than float32 on an AVX2 EPYC. With them, it
depends on the chip and on torch's kernels for it: bf16 ran 1.7x faster than float32 on one 2-core box with
AVX512-BF16 (2026-12-06) and 1.5x slower on another (an AVX512-BF16 Xeon without AMX, 2026-12-07), so a CPU
flag cannot decide. Where the flags allow bf16, the first load times one forward pass in each type and keeps
bf16 only when it is clearly faster. The choice is saved per CPU and torch version, so every later process on
the machine chunks with the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# CPU flags (Linux /proc/cpuinfo names) of native bf16 matrix arithmetic: without one, bf16 is never tried.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
# bf16 must be this much faster to be chosen: near a tie float32's exact arithmetic wins, and a noisy
# measurement cannot tip the choice.
BF16_MARGIN = 1.25
PROBE_TOKENS = 192  # about one scoring window (docs/bench-chunking.md)


def cpu_signature(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, frozenset[str]]:
    """The CPU's model name and flags; empty where they cannot be read (not Linux)."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "", frozenset()
    model = next((line.partition(":")[2].strip() for line in lines if line.startswith("model name")), "")
    flags = next((line.partition(":")[2].split() for line in lines if line.startswith("flags")), [])
    return model, frozenset(flags)


def faster_dtype(seconds: Mapping[str, float]) -> str:
    """``bfloat16`` when its pass took under 1 / ``BF16_MARGIN`` of float32's, else ``float32``."""
    return "bfloat16" if seconds["bfloat16"] * BF16_MARGIN < seconds["float32"] else "float32"


def choose_dtype(
    time_pass: Callable[[str], float], *, cache: Path, cpuinfo: Path = Path("/proc/cpuinfo"), torch_version: str = ""
) -> str:
    """float32 on a CPU without native bf16; else the type ``faster_dtype`` picks from ``time_pass(dtype)``
    (seconds of one forward pass), measured once per CPU and torch version and remembered in ``cache``."""
    model, flags = cpu_signature(cpuinfo)
    if not flags & NATIVE_BF16_FLAGS:
        return "float32"
    key = hashlib.sha256(json.dumps([model, sorted(flags), torch_version]).encode()).hexdigest()[:16]
    known = _read(cache)
    if known.get(key) in ("float32", "bfloat16"):
        return str(known[key])
    seconds = {dtype: time_pass(dtype) for dtype in ("float32", "bfloat16")}
    chosen = faster_dtype(seconds)
    log.info("chunking LM: %s (one pass: float32 %.3f s, bfloat16 %.3f s)", chosen, *seconds.values())
    _write(cache, {**known, key: chosen})
    return chosen


def forward_timer(model: Any, torch: Any) -> Callable[[str], float]:
    """``time_pass`` for ``choose_dtype``: the best of three passes of ``model`` (float32) or of a bf16 copy
    over ``PROBE_TOKENS`` tokens, on one torch thread, as the scoring workers run."""
    import copy

    ids = torch.randint(100, 10_000, (1, PROBE_TOKENS), generator=torch.Generator().manual_seed(0))

    def best_of_three(dtype: str) -> float:
        probe = model if dtype == "float32" else copy.deepcopy(model).to(getattr(torch, dtype))
        with torch.inference_mode():
            probe(input_ids=ids)  # warm-up: kernels chosen, memory touched
            times = []
            for _ in range(3):
                started = time.perf_counter()
                probe(input_ids=ids)
                times.append(time.perf_counter() - started)
        return min(times)

    def time_pass(dtype: str) -> float:
        with ThreadPoolExecutor(1, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            return pool.submit(best_of_three, dtype).result()

    return time_pass


def _read(cache: Path) -> dict[str, str]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(cache: Path, choices: dict[str, str]) -> None:
    """Written whole through a temporary file; a failure only means measuring again next time."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_name(f"{cache.name}.{time.monotonic_ns()}.tmp")
        temporary.write_text(json.dumps(choices), encoding="utf-8")
        temporary.replace(cache)
    except OSError as exc:
        log.warning("could not save the chunking LM's dtype choice at %s: %s", cache, exc)
