"""Time limits: a function in a child process (for sympy work that may hang), and a
hard wall-clock limit for the calling thread (for benchmark tasks)."""
from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from kansr.errors import TimedOut, TimeLimitReached

__all__ = ["call_with_timeout", "TimedOut", "hard_time_limit", "TimeLimitReached", "time_limit_reached"]

# fork starts fast and needs no importable __main__; elsewhere use spawn.
_START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"


def _child(fn: Callable[..., Any], args: tuple, conn: Connection) -> None:
    try:
        conn.send((True, fn(*args)))
    except BaseException as exc:  # report instead of dying silently
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def call_with_timeout(fn: Callable[..., Any], args: tuple, timeout: float) -> Any:
    """Return ``fn(*args)`` computed in a child process, or raise :class:`TimedOut`.

    The arguments and the result travel by pickle between this process and its
    own child only.  Where no child process can be started (e.g. inside a
    daemonic worker) the call runs here without a limit, with a warning.

    Raises
    ------
    TimedOut
        After ``timeout`` seconds (the child is killed), or if the child died.
    RuntimeError
        If ``fn`` raised; the message names the original exception.
    """
    ctx = multiprocessing.get_context(_START_METHOD)
    receiver, sender = ctx.Pipe(duplex=False)
    try:
        proc = ctx.Process(target=_child, args=(fn, args, sender), daemon=True)
        proc.start()
    except (AssertionError, OSError) as exc:
        warnings.warn(f"cannot start a child process ({exc}); running without a time limit", RuntimeWarning, stacklevel=2)
        return fn(*args)
    finally:
        sender.close()
    try:
        if not receiver.poll(timeout):
            raise TimedOut(f"timed out after {timeout:g} s")
        ok, value = receiver.recv()
    except EOFError:
        raise TimedOut(f"child process died (exit code {proc.exitcode})") from None
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if not ok:
        raise RuntimeError(value)
    return value


# Expiry flags of the active hard_time_limit contexts, innermost last.
_active_limits: list[list[bool]] = []


def time_limit_reached() -> bool:
    """Whether an active :func:`hard_time_limit` has expired.

    Code that catches ``KeyboardInterrupt`` to stop cleanly (``fit`` keeps its
    model and returns) can hide the limit from its caller; a caller that loops
    checks this to stop as well.
    """
    return any(flag[0] for flag in _active_limits)


@contextlib.contextmanager
def hard_time_limit(seconds: float | None) -> Iterator[bool]:
    """Raise :class:`TimeLimitReached` in this thread after ``seconds`` of wall-clock time.

    Uses ``SIGALRM``, so it works only in the main thread of a process on a
    POSIX system; elsewhere (Dask worker threads, Windows) and for
    ``seconds=None`` it does nothing.  Yields whether the limit is armed.
    Child processes started inside do not inherit the timer.
    """
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield False
        return

    expired = [False]

    def expire(signum, frame):  # noqa: ARG001 - signal handler signature
        expired[0] = True
        raise TimeLimitReached(f"hard time limit of {seconds:g} s reached")

    previous_hook = sys.unraisablehook

    def redeliver(unraisable):
        # The alarm can land where Python cannot raise: a __del__, a weakref
        # callback, a fork handler (call_with_timeout forks).  The exception is
        # then only reported, and the limit would be lost; fire it again.
        if isinstance(unraisable.exc_value, TimeLimitReached):
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return
        previous_hook(unraisable)

    previous = signal.signal(signal.SIGALRM, expire)
    sys.unraisablehook = redeliver
    _active_limits.append(expired)
    signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 1e-3))
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = previous_hook
        _active_limits.remove(expired)
