import os

# Two workers share two cores: one thread each keeps them from fighting.  The
# environment carries that to the children the tests start (CLI runs, notebook
# kernels, benchmark workers); their OpenMP pools would otherwise spin against
# the other worker (a 7 s test took 227 s next to a notebook kernel).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    """Compile the numba layer kernels once, before pytest-xdist starts its workers.

    numba caches compiled kernels on disk; on a fresh checkout every process
    that trains a KAN (both workers, CLI and benchmark subprocesses, notebook
    kernels) would otherwise compile them at the same time, about 30 s each.
    """
    if hasattr(config, "workerinput"):  # a worker: the controller has filled the cache
        return
    from kansr.nn import KAN

    X = torch.rand(64, 2)
    for dtype in (torch.float32, torch.float64):
        model = KAN([2, 3, 1], grid=5, seed=0, dtype=dtype)  # a multi- and a single-output layer
        model(X.to(dtype)).sum().backward()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
