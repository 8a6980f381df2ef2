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
