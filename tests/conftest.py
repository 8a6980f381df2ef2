import os

import numpy as np
import pytest
import torch

# Two workers share two cores: one thread each keeps them from fighting.
torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
