"""Keep freed memory in the process so training steps do not page-fault.

Each training step allocates and frees the same large temporaries (the dense
basis, its gradients).  glibc returns big blocks to the operating system
(``mmap``/``trim``), so the next step gets fresh pages and pays a page fault
per 4 KiB; on a virtual machine that can double the step time.  Raising the
mmap and trim thresholds makes ``free`` keep those blocks for reuse.  The cost
is that the process holds on to its peak memory.

The tuning changes the whole process, so it is opt-in: a program that owns
its process calls :func:`tune_allocator` once (the ``kansr`` command and the
benchmark workers do; ``fit`` never does).  ``KANSR_MALLOC_TUNING=0`` makes
the call a no-op.  It does nothing on systems without glibc's ``mallopt``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["tune_allocator"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The largest mmap threshold glibc accepts on 64-bit systems (HEAP_MAX / 2).
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 1024 * 1024 * 1024

_done = False


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds once per process.

    Returns
    -------
    bool
        True if the thresholds were set (now or by an earlier call).
    """
    global _done
    if _done:
        return True
    if os.environ.get("KANSR_MALLOC_TUNING", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    _done = ok
    return ok
