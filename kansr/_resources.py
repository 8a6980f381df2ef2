"""Scoped changes to process-wide resources: torch's thread count.

Library code never changes it for good.  Front doors that own their process
(the CLI, benchmark workers) and callers who want it use :func:`torch_threads`,
which restores the previous value on exit.  The setting is process-wide by
nature: do not nest it differently in concurrent threads.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, then restore the previous count.

    Parameters
    ----------
    n : int or None
        Intra-op threads for torch; ``None`` leaves the setting alone.  Small
        networks (discovery trains many) are fastest on one thread, where
        synchronisation would dominate the tiny tensor operations.
    """
    if n is None:
        yield
        return
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread count must be a positive integer or None; got {n!r}")
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
