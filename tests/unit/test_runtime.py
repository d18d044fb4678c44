"""Process set-up: a thread limit reaches every pool a question uses, loaded before or after it."""

import json
import subprocess
import sys

SCRIPT = """
import json
from app.runtime import limit_threads
limit_threads(1)
import faiss, numpy, scipy.sparse.csgraph, torch
from threadpoolctl import threadpool_info
pools = {i["filepath"].rsplit("/", 1)[-1]: i["num_threads"] for i in threadpool_info()}
print(json.dumps({"pools": pools, "faiss": faiss.omp_get_max_threads(), "torch": torch.get_num_threads()}))
"""


def test_one_thread_reaches_faiss_scipy_numpy_and_torch_pools() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=120)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["faiss"] == 1 and found["torch"] == 1
    ours = {name: n for name, n in found["pools"].items() if "openblas" in name or name.startswith("libgomp")}
    assert ours and all(n == 1 for n in ours.values()), ours
