"""torch_threads changes torch's thread count for its block only."""
import pytest
import torch

from kansr import torch_threads


def test_thread_count_is_restored_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with torch_threads(2):
            assert torch.get_num_threads() == 2
            raise RuntimeError
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="positive integer"):
        with torch_threads(0):
            pass


def test_compiled_kernels_keep_the_callers_thread_count():
    # numba's OpenMP pool, started by the first kernel call, resets the OpenMP thread count
    # torch shares: run in a fresh process, where the pool is not started yet.
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np, torch\n"
        "from kansr import torch_threads\n"
        "from kansr.nn._model import KAN\n"
        "from kansr.train._fit import fit\n"
        "with torch_threads(1):\n"
        "    X = np.random.default_rng(0).uniform(size=(500, 3))\n"
        "    fit(KAN([3, 4, 1], grid=5, seed=0), X, X.sum(1), steps=2, optimizer='adam', progress=False)\n"
        "    print(torch.get_num_threads())\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "KANSR_NUMBA": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
