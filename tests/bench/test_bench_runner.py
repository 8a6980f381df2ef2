"""Tests of the benchmark runner, its summary and its command line.

The fake task functions below are module-level so that pool and Dask
workers can import them by reference.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kansr.bench import runner
from kansr.bench.cli import main as cli_main
from kansr.bench.runner import BenchTask, read_results, run_benchmark, task_seeds
from kansr.bench.summary import latest_records, summarize

ROOT = Path(__file__).resolve().parents[2]
EASY = ["I.12.1", "I.14.4", "II.3.24"]
SMALL = dict(time_budget=5.0, n_train=300, progress=False)


# -- fake tasks (run in worker processes) -------------------------------------
def fake_task(task: BenchTask) -> dict:
    time.sleep(0.2)
    return {"formula": f"fake_{task.equation}", "solved": True, "seconds": 0.2, "complexity": 1}


def fake_task_raising(task: BenchTask) -> dict:
    if task.equation == "I.14.4":
        raise RuntimeError("boom in I.14.4")
    return fake_task(task)


def fake_task_crashing(task: BenchTask) -> dict:
    if task.equation == "I.14.4":
        time.sleep(0.5)  # let the neighbour task be in flight when the worker dies
        os._exit(1)
    time.sleep(1.0)
    return fake_task(task)


def fake_task_refusing_done(task: BenchTask) -> dict:
    """Fails loudly for every task but II.3.24: finished tasks must not run again."""
    if task.equation != "II.3.24":
        raise AssertionError(f"{task.equation} was recomputed")
    return fake_task(task)


SPLIT_SQRT = {"I.47.23": "sqrt(gamma)*sqrt(pr)/sqrt(rho)", "I.12.1": "mu*Nn"}


def fake_task_with_formulas(task: BenchTask) -> dict:
    """Formulas right on the sampled domain, recorded as unsolved (an older check's verdict)."""
    return {"formula": SPLIT_SQRT[task.equation], "solved": False, "seconds": 0.1, "complexity": 6}


def fake_task_by_family(task: BenchTask) -> dict:
    solved = task.equation in ("I.18.4", "I.8.14")
    return {"formula": "x", "solved": solved, "accuracy_solved": True, "seconds": 0.1, "complexity": 1,
            "generator": "fake", "structure": "x0 + x1" if solved else None}


def test_summary_counts_solves_by_family_and_the_exact_share_of_accurate_fits(tmp_path):
    run_benchmark(["I.18.4", "I.11.19", "I.8.14", "I.12.1"], out_dir=tmp_path, workers=1,
                  task_fn=fake_task_by_family, **SMALL)
    text = summarize(tmp_path)
    assert "| 0 | sums of products, weighted means | 2 | 1 | I.18.4 | I.11.19 |" in text
    assert "| 0 | distances and norms | 1 | 1 | I.8.14 | – |" in text
    assert "nested relativistic" not in text  # no equation of that family was run
    assert "| 0 | 4 | 2 | 50.0 % |" in text  # four accurate fits, two exact
    assert "| fake | x0 + x1 | `x` |" in text  # the structure found is in each task's row


def _lines(out: Path) -> list[str]:
    return (out / "results.jsonl").read_text(encoding="utf-8").splitlines()


# -- a real run, shared by several tests --------------------------------------
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "quick"
    run_benchmark(EASY, out_dir=out, workers=2, **SMALL)
    return out


def test_quick_run_writes_one_line_per_task_and_a_summary(quick_run):
    records = read_results(quick_run)
    assert sorted(r["equation"] for r in records) == sorted(EASY)
    for r in records:
        assert r["error"] is None, r
        for field in ("formula", "solved", "accuracy_solved", "r2", "rmse", "complexity", "seconds",
                      "kansr_version", "host", "noise", "seed"):
            assert field in r
        assert r["task_seed"] == task_seeds(r["equation"], 0.0, 0)[0]
    assert sum(r["solved"] for r in records) >= 2  # easy equations: expect recovery

    config = json.loads((quick_run / "config.json").read_text())
    assert config["equations"] == EASY and config["time_budget"] == 5.0 and config["finished"]

    text = summarize(quick_run)
    assert (quick_run / "summary.md").read_text(encoding="utf-8") == text
    assert (quick_run / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "not measured here" in text and "AI Feynman | 55.8 %" in text
    assert "SRBench Feynman subset (3 of its 116 problems run)" in text
    for eq in EASY:
        assert f"| {eq} | 0 | 0 |" in text
    # Provenance: each task names the generator of its chosen formula; the summary counts by generator.
    generators = Counter(r["generator"] for r in records)
    assert all(isinstance(g, str) and g for g in generators)
    assert "By the generator of the chosen formula" in text
    for name, count in generators.items():
        solved = sum(r["solved"] for r in records if r["generator"] == name)
        assert f"| 0 | {name} | {count} | {solved} |" in text
    assert not list(quick_run.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_rerun_of_a_finished_directory_runs_nothing(quick_run):
    before = _lines(quick_run)
    run_benchmark(EASY, out_dir=quick_run, workers=2, task_fn=fake_task_refusing_done, **SMALL)
    assert _lines(quick_run) == before


def test_other_settings_in_the_same_directory_are_refused(quick_run):
    with pytest.raises(ValueError, match="time_budget=5.0 there, 9.0 now"):
        run_benchmark(EASY, out_dir=quick_run, time_budget=9.0, n_train=300, progress=False)


def test_runs_with_and_without_units_never_share_a_directory(quick_run):
    with pytest.raises(ValueError, match="units=False there, True now"):
        run_benchmark(EASY, out_dir=quick_run, units=True, **SMALL)


def fake_task_echoing_units(task: BenchTask) -> dict:
    return {"formula": "x", "solved": task.units, "seconds": 0.1, "complexity": 1}


def test_units_reach_the_task(tmp_path):
    run_benchmark(EASY[:1], out_dir=tmp_path, workers=1, units=True, task_fn=fake_task_echoing_units, **SMALL)
    (record,) = read_results(tmp_path)
    assert record["solved"] is True
    assert json.loads((tmp_path / "config.json").read_text())["units"] is True


@pytest.mark.slow
def test_dask_cluster_gives_the_same_results_as_the_pool(quick_run, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        run_benchmark(EASY[:2], out_dir=tmp_path, scheduler=cluster.scheduler_address, **SMALL)
    on_dask = {r["equation"]: r for r in read_results(tmp_path)}
    on_pool = {r["equation"]: r for r in read_results(quick_run)}
    assert set(on_dask) == set(EASY[:2])
    for eq, r in on_dask.items():
        assert r["error"] is None, r
        for field in ("formula", "solved", "accuracy_solved", "complexity", "task_seed"):
            assert r[field] == on_pool[eq][field], (eq, field)


# -- resume, errors, crashes (fast fake tasks) ---------------------------------
@pytest.mark.parametrize("cut", ["whole_line", "half_line"])
def test_resume_runs_only_missing_tasks(tmp_path, cut):
    run_benchmark(EASY, out_dir=tmp_path, workers=1, task_fn=fake_task, progress=False)
    lines = _lines(tmp_path)
    assert [json.loads(line)["equation"] for line in lines] == EASY  # one worker: file order = task order
    kept = "\n".join(lines[:2]) + "\n"
    if cut == "half_line":  # as if killed while writing the last line
        kept += lines[2][: len(lines[2]) // 2]
    (tmp_path / "results.jsonl").write_text(kept, encoding="utf-8")

    if cut == "half_line":
        with pytest.warns(RuntimeWarning, match="truncated last line"):
            run_benchmark(EASY, out_dir=tmp_path, workers=2, task_fn=fake_task_refusing_done, progress=False)
    else:
        run_benchmark(EASY, out_dir=tmp_path, workers=2, task_fn=fake_task_refusing_done, progress=False)
    after = _lines(tmp_path)
    assert after[:2] == lines[:2]  # finished lines untouched (same timestamps, same pids)
    assert len(after) == 3
    records = [json.loads(line) for line in after]
    assert [r["equation"] for r in records] == EASY
    assert all(r["error"] is None for r in records)


def test_a_task_that_raises_is_recorded_with_its_error(tmp_path):
    run_benchmark(EASY, out_dir=tmp_path, workers=2, task_fn=fake_task_raising, progress=False)
    records = {r["equation"]: r for r in read_results(tmp_path)}
    assert set(records) == set(EASY)
    bad = records["I.14.4"]
    assert bad["error"] == "RuntimeError: boom in I.14.4"
    assert "boom" in bad["traceback"] and bad["solved"] is False and bad["formula"] is None
    assert records["I.12.1"]["error"] is None and records["I.12.1"]["formula"] == "fake_I.12.1"

    # retry_errors reruns only the failed task; readers keep its newest line.
    run_benchmark(EASY, out_dir=tmp_path, workers=2, task_fn=fake_task, retry_errors=True, progress=False)
    assert len(_lines(tmp_path)) == 4
    latest = latest_records(tmp_path)
    assert [r["equation"] for r in latest] == EASY and all(r["error"] is None for r in latest)


@pytest.mark.slow
def test_a_crashing_worker_is_recorded_and_the_others_finish(tmp_path):
    eqs = ["I.12.1", "I.14.4", "II.3.24", "I.6.2a"]
    run_benchmark(eqs, out_dir=tmp_path, workers=2, task_fn=fake_task_crashing, progress=False)
    records = read_results(tmp_path)
    assert sorted(r["equation"] for r in records) == sorted(eqs)  # one line each: no duplicates
    by_eq = {r["equation"]: r for r in records}
    assert "worker process died" in by_eq["I.14.4"]["error"]
    for eq in ("I.12.1", "II.3.24", "I.6.2a"):  # the neighbour of the crash is not blamed
        assert by_eq[eq]["error"] is None and by_eq[eq]["formula"] == f"fake_{eq}"


@pytest.mark.slow
def test_a_killed_dask_worker_is_recorded(tmp_path):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("dask.distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        run_benchmark(EASY, out_dir=tmp_path, scheduler=cluster.scheduler_address,
                      task_fn=fake_task_crashing, progress=False)
    by_eq = {r["equation"]: r for r in read_results(tmp_path)}
    assert set(by_eq) == set(EASY)
    assert "KilledWorker" in by_eq["I.14.4"]["error"]
    assert by_eq["I.12.1"]["error"] is None and by_eq["II.3.24"]["error"] is None


# -- seeds and argument checks --------------------------------------------------
_DRIVER = """
import os, sys, time
from pathlib import Path
from kansr.bench.runner import run_benchmark

def slow_task(task):
    Path(sys.argv[1], f"started_{os.getpid()}").touch()
    time.sleep(300)
    return {}

if __name__ == "__main__":
    run_benchmark(["I.12.1", "II.3.24"], out_dir=sys.argv[1], workers=2, task_fn=slow_task, progress=False)
"""


def _session_members(sid: int) -> list[int]:
    """Live processes of session ``sid`` (Linux /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        try:
            fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry))
    return members


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_parent(tmp_path):
    """SIGKILL of the benchmark leaves no worker, forkserver or resource tracker behind."""
    (tmp_path / "driver.py").write_text(_DRIVER)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(tmp_path)], start_new_session=True,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("started_*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(list(tmp_path.glob("started_*"))) == 2, "the workers did not start"
        assert len(_session_members(proc.pid)) >= 4  # parent, tracker, forkserver, two workers
        os.kill(proc.pid, 9)
        proc.wait()
        deadline = time.monotonic() + 10
        while _session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session_members(proc.pid) == []
    finally:
        for pid in _session_members(proc.pid):
            os.kill(pid, 9)
        if proc.poll() is None:
            proc.kill()


def test_task_seeds_are_stable_and_distinct():
    # SeedSequence + CRC-32: the same numbers in every process and on every machine.
    assert task_seeds("I.12.1", 0.0, 0)[0] == 1915357342
    code = "from kansr.bench.runner import task_seeds; print(task_seeds('I.12.1', 0.01, 3))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert other.stdout.strip() == str(task_seeds("I.12.1", 0.01, 3))
    seeds = {task_seeds(eq, nz, s) for eq in EASY for nz in (0.0, 0.01) for s in (0, 1)}
    assert len(seeds) == 12
    train, test = task_seeds("I.12.1", 0.0, 0)
    assert train != test


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(equations=["NOPE"]), "unknown Feynman equation id 'NOPE'"),
        (dict(equations=[]), "no equations given"),
        (dict(noises=(-0.1,)), "finite and >= 0"),
        (dict(seeds=(-1,)), "non-negative integers"),
        (dict(seeds=("0",)), "non-negative integers"),
        (dict(time_budget=0), "time_budget must be a positive number"),
        (dict(n_train=5), "n_train must be at least 10"),
        (dict(workers=0), "workers must be a positive integer"),
        (dict(scheduler="tcp://x:1", use_dask_local=True), "not both"),
    ],
)
def test_bad_arguments_raise_value_error(tmp_path, kwargs, message):
    kwargs = {"equations": ["I.12.1"], **kwargs}
    equations = kwargs.pop("equations")
    with pytest.raises(ValueError, match=message):
        run_benchmark(equations, out_dir=tmp_path, progress=False, **kwargs)
    assert not (tmp_path / "results.jsonl").exists()


def test_equation_aliases_and_subsets_are_resolved():
    assert runner._resolve_equations(["feynman_I_12_1", "I.12.1"]) == ["I.12.1"]
    assert len(runner._resolve_equations("quick")) == 10


def test_summarize_without_results_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no results.jsonl"):
        summarize(tmp_path)


# -- command line ----------------------------------------------------------------
def test_cli_unknown_equation_exits_2_with_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "kansr.bench.cli", "feynman", "--equations", "NOPE"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "kansr bench: error: --equations: unknown Feynman equation id 'NOPE'; see list_equations()"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["feynman", "--subset", "quick", "--noise", "-0.1"], "--noise: levels must be finite and >= 0"),
        (["feynman", "--subset", "quick", "--noise", "lots"], "--noise: 'lots' is not a number"),
        (["feynman", "--subset", "quick", "--seeds", "0,x"], "--seeds: 'x' is not an integer"),
        (["feynman", "--subset", "quick", "--seeds", "-1"], "--seeds must be >= 0"),
        (["feynman", "--subset", "quick", "--time-budget", "0"], "--time-budget must be a positive number"),
        (["feynman", "--subset", "quick", "--workers", "two"], "--workers: 'two' is not an integer"),
        (["feynman", "--subset", "quick", "--scheduler", "tcp://x:1", "--dask-local"], "exclude each other"),
        (["feynman"], "choose the equations"),
        (["summarize", "/nonexistent/dir"], "has no results.jsonl"),
    ],
)
def test_cli_bad_arguments_exit_2(argv, message, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("a_file", "--out 'a_file' exists and is not a directory"),
        ("a_file/inside", "--out 'a_file/inside' cannot be written: Not a directory"),
    ],
)
def test_cli_unusable_out_exits_2_naming_the_path(out, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("a_file").write_text("keep me")
    assert cli_main(["feynman", "--equations", "I.12.1", "--out", out, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert Path("a_file").read_text() == "keep me"


@pytest.mark.parametrize(
    ("field", "value"),
    [("seconds", "abc"), ("noise", "loud"), ("seed", 1.5), ("solved", "yes"), ("equation", 12), ("complexity", [])],
)
def test_summarize_names_the_line_of_a_bad_record(field, value, tmp_path, capsys):
    run_benchmark(["I.12.1", "II.3.24"], out_dir=tmp_path, workers=1, task_fn=fake_task, progress=False)
    lines = _lines(tmp_path)
    lines[1] = json.dumps({**json.loads(lines[1]), field: value})
    (tmp_path / "results.jsonl").write_text("\n".join(lines) + "\n")
    assert cli_main(["summarize", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"results.jsonl:2: field {field!r}" in err[0]


def test_cli_runs_and_summarizes(tmp_path, monkeypatch, capsys):
    calls = {}

    def fake_run(equations, noises, seeds, **kwargs):
        calls.update(equations=equations, noises=noises, seeds=seeds, **kwargs)
        return run_benchmark(equations, noises, seeds, **{**kwargs, "task_fn": fake_task})

    monkeypatch.setattr(runner, "run_benchmark", fake_run)
    out = tmp_path / "cli"
    argv = ["feynman", "--equations", "I.12.1,feynman_II_3_24", "--noise", "0,0.01", "--seeds", "0",
            "--time-budget", "7", "--workers", "2", "--n-train", "200", "--out", str(out), "--no-progress"]
    assert cli_main(argv) == 0
    assert calls["equations"] == ["I.12.1", "II.3.24"] and calls["noises"] == [0.0, 0.01]
    assert calls["time_budget"] == 7.0 and calls["n_train"] == 200 and calls["workers"] == 2
    assert "solved 4 of 4 tasks" in capsys.readouterr().out
    assert (out / "summary.md").exists() and (out / "summary.png").exists()

    assert cli_main(["summarize", str(out)]) == 0
    assert "| II.3.24 | 0.01 | 0 | yes |" in capsys.readouterr().out


def test_recheck_scores_recorded_formulas_again(tmp_path, capsys):
    run_benchmark(list(SPLIT_SQRT), out_dir=tmp_path, workers=1, task_fn=fake_task_with_formulas, progress=False)
    assert cli_main(["recheck", str(tmp_path)]) == 0
    assert "2 verdicts changed" in capsys.readouterr().out
    records = {r["equation"]: r for r in read_results(tmp_path)}
    assert all(r["solved"] and r["solved_at_run"] is False for r in records.values())
    assert records["I.47.23"]["r2"] > 0.999999
    assert (tmp_path / "summary.md").exists()


def test_recheck_of_a_non_benchmark_directory_is_a_usage_error(tmp_path, capsys):
    assert cli_main(["recheck", str(tmp_path)]) == 2
    assert "not a kansr benchmark directory" in capsys.readouterr().err


def test_summary_prints_no_absolute_path(tmp_path):
    """Given an absolute directory, the summary names it relative to its repository (or by its name)."""
    repo = tmp_path / "checkout"
    (repo / ".git").mkdir(parents=True)
    inside = repo / "benchmarks" / "results" / "run"
    outside = tmp_path / "elsewhere" / "run"
    for out, shown in ((inside, "benchmarks/results/run"), (outside, "run")):
        run_benchmark(EASY[:1], out_dir=out.resolve(), workers=1, task_fn=fake_task, progress=False)
        text = summarize(str(out.resolve()))
        assert f"Directory `{shown}`:" in text
        assert str(tmp_path.resolve()) not in text and str(tmp_path) not in text
        assert (out / "summary.md").read_text(encoding="utf-8") == text
