"""Time limits: child-process calls and the hard wall-clock limit of benchmark tasks."""
from __future__ import annotations

import dataclasses
import importlib
import threading
import time

import numpy as np
import pytest

from kansr._timeout import TimedOut, TimeLimitReached, call_with_timeout, hard_time_limit, time_limit_reached
from kansr.discovery import discover


def _sleep_then(value, seconds):
    time.sleep(seconds)
    return value


def test_call_with_timeout_returns_or_times_out():
    assert call_with_timeout(_sleep_then, (7, 0.0), timeout=10) == 7
    with pytest.raises(TimedOut):
        call_with_timeout(_sleep_then, (7, 5.0), timeout=0.2)


def test_hard_limit_interrupts_and_is_disarmed_afterwards():
    began = time.perf_counter()
    with pytest.raises(TimeLimitReached):
        with hard_time_limit(0.2) as armed:
            assert armed
            while True:
                time.sleep(0.01)
    assert time.perf_counter() - began < 2.0
    time.sleep(0.3)  # a stray alarm would raise here


class _SlowFinalizer:
    def __del__(self):
        time.sleep(0.5)  # the alarm fires in here, where Python can only report it


def test_hard_limit_swallowed_in_a_finalizer_is_delivered_again():
    began = time.perf_counter()
    with pytest.raises(TimeLimitReached):
        with hard_time_limit(0.05):
            obj = _SlowFinalizer()
            del obj
            time.sleep(5)
    assert time.perf_counter() - began < 2.0


def test_hard_limit_is_a_no_op_off_the_main_thread():
    seen = []
    worker = threading.Thread(target=lambda: seen.append(hard_time_limit(0.01).__enter__()))
    worker.start()
    worker.join()
    assert seen == [False]


def test_discover_stopped_by_the_hard_limit_keeps_its_best_formula():
    X = np.random.default_rng(0).uniform(0.5, 2, (400, 2))
    y = X[:, 0] * np.sin(X[:, 1]) + np.exp(-X[:, 0] * X[:, 1])  # nothing finds this quickly
    with hard_time_limit(3.0):
        found = discover(X, y, time_budget=None)
    assert found.interrupted and found.formula is not None


def test_expired_limit_is_visible_to_callers_until_the_context_ends():
    with hard_time_limit(0.05):
        try:
            time.sleep(1)
        except TimeLimitReached:
            pass  # absorbed, as fit() does to keep its model
        assert time_limit_reached()
    assert not time_limit_reached()


def test_discover_stops_when_a_generator_absorbs_the_limit(monkeypatch):
    registry = importlib.import_module("kansr.discovery._registry")
    ran = []

    def absorbing(s):
        ran.append("absorbing")
        try:
            time.sleep(5)
        except TimeLimitReached:
            pass  # e.g. fit() keeping its model

    runs = {"power_law": absorbing, "additive": lambda s: ran.append("additive")}
    monkeypatch.setattr(registry, "REGISTRY", tuple(
        dataclasses.replace(g, run=runs.get(g.name, g.run)) for g in registry.REGISTRY))
    X = np.random.default_rng(0).uniform(0.5, 2, (100, 2))
    began = time.perf_counter()
    with hard_time_limit(1.0):
        # linear proposes a candidate (an empty pool re-raises the interrupt) but cannot solve x0*x1
        # exactly: a solved search would skip every later generator
        found = discover(X, X[:, 0] * X[:, 1], generators=("linear", "power_law", "additive"), time_budget=None)
    assert ran == ["absorbing"] and time.perf_counter() - began < 4
    assert found.interrupted and found.formula is not None
