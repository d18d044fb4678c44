"""Retrieval caches written by several threads at once (a job's rebuild beside a search)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from retrieval.files import save_npz_atomically


def test_concurrent_saves_of_one_cache_all_succeed_and_leave_one_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "index" / "cache.npz"
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(value: int) -> None:
        start.wait()
        try:
            for _ in range(30):
                save_npz_atomically(path, vectors=np.full((50, 8), value, dtype=np.float32))
        except BaseException as error:  # noqa: BLE001 - the test reports whatever a writer raised
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(value,)) for value in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with np.load(path) as data:
        vectors = data["vectors"]
    assert vectors.shape == (50, 8)
    assert len(np.unique(vectors)) == 1  # one writer's whole file, never a mix
    assert sorted(p.name for p in path.parent.iterdir()) == ["cache.npz"]  # no temporary files left
