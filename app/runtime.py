"""Process-wide set-up, done once by an entry point (a CLI command, the API server's start).

Library code never changes process state (logging levels, torch threads, environment variables); it
receives what it needs through ``Settings``. Only the functions here do, and only entry points call them.
"""

from __future__ import annotations

import logging

from app.config import Settings

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def quiet_logging(level: int = logging.WARNING) -> None:
    """Print warnings and errors only. The level sits on the handler, not just the root logger: some
    libraries (bm25s) set their own loggers to DEBUG when imported, which would otherwise reach the user."""
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def configure_process(settings: Settings) -> None:
    """Apply the settings that belong to the whole process (CPU threads of the models, and of numpy's BLAS and
    FAISS's OpenMP: a question's signals run on threads of their own, and each op spawning its own threads on
    top of them oversubscribes a small machine)."""
    limit_threads(settings.torch_threads)


def limit_threads(threads: int) -> None:
    """Pin torch, FAISS, and every BLAS and OpenMP pool to ``threads`` per op (0: leave their defaults)."""
    if threads > 0:
        import faiss
        import scipy.sparse.csgraph  # noqa: F401 - loads scipy's own OpenBLAS, so the limit below reaches it
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)
        # numpy's BLAS too: on a busy box one 16k x 384 product took 13 ms with 2 threads, 2.5 ms with 1.
        # threadpoolctl limits only the pools loaded when it is called, hence the imports above: FAISS brings
        # its own OpenMP and OpenBLAS, scipy its own OpenBLAS (left at 2 threads, a question took ~2 ms more).
        threadpool_limits(threads)
