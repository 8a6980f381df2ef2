"""Tests of the ``kansr`` command line (run in-process through ``main``; one real subprocess)."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy

from kansr.cli import main
from kansr.datasets import example_path
from kansr.symbolic import parse_formula

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--generators", "linear,power_law", "--time-budget", "10", "--no-progress"]
discover_module = importlib.import_module("kansr.discovery")  # the CLI looks discover up here at call time


def _run(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def linear_csv(tmp_path) -> Path:
    """y = 2*a - 3*b + 1 with an irrelevant column, 200 rows."""
    rng = np.random.default_rng(1)
    a, b, z = rng.uniform(1, 3, 200), rng.uniform(-1, 1, 200), rng.uniform(0, 1, 200)
    path = tmp_path / "lin.csv"
    pd.DataFrame({"a [m]": a, "b": b, "noise": z, "y": 2 * a - 3 * b + 1}).to_csv(path, index=False)
    return path


def test_discover_prints_formula_and_writes_outputs(linear_csv, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = _run(["discover", linear_csv, "--target", "y", "--out", out_dir, *FAST], capsys)
    assert code == 0, err
    assert "formula:     y = 2*a_m - 3*b + 1" in out
    assert "in columns:  y = 2*`a [m]` - 3*b + 1" in out
    assert "R² = 1.000000" in out and "test split, 40 rows" in out
    assert "Pareto front" in out and "complexity" in out
    assert "dropped features: 'noise' (not used by the formula)" in out
    assert "Traceback" not in err

    summary = json.loads((out_dir / "result.json").read_text())
    for key in ("formula", "latex", "variables", "r2_test", "rmse_test", "complexity", "pareto",
                "dropped_features", "seconds", "kansr_version"):
        assert key in summary
    assert summary["variables"] == {"a_m": "a [m]", "b": "b", "noise": "noise"}
    expr = parse_formula(summary["formula"], list(summary["variables"]))
    a, b = sympy.symbols("a_m b", real=True)
    assert sympy.simplify(expr - (2 * a - 3 * b + 1)) == 0
    assert summary["dropped_features"] == ["noise"]
    assert "noise" not in summary["formula"]
    assert summary["r2_test"] > 0.999999
    assert summary["pareto"] and set(summary["pareto"][0]) >= {"complexity", "val_rmse", "val_r2", "formula"}

    table = pd.read_csv(out_dir / "equations.csv")
    assert list(table.columns[:4]) == ["complexity", "val_rmse", "val_r2", "formula"]
    assert len(table) == len(summary["pareto"])
    assert (out_dir / "predictions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out_dir / "model.kan").exists()  # linear/power_law train no KAN
    mode = (out_dir / "result.json").stat().st_mode & 0o777
    assert mode & 0o044  # readable by others (umask permitting), not the temp file's 0600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.kansr-")] == []


def test_kan_model_and_network_written(linear_csv, tmp_path, capsys, monkeypatch):
    """When discover returns a trained KAN, model.kan and network.png are written and load back."""
    import torch

    from kansr.nn import KAN
    from kansr.train import fit

    real = discover_module.discover

    def with_model(X, y, names, **kwargs):
        result = real(X, y, names, **kwargs)
        model = KAN([len(names), 2, 1], seed=0, dtype=torch.float64, input_names=names)
        fit(model, X, y, steps=3, progress=False)
        result.model = model
        return result

    monkeypatch.setattr(discover_module, "discover", with_model)
    out_dir = tmp_path / "run"
    code, out, err = _run(["discover", linear_csv, "--target", "y", "--out", out_dir, *FAST], capsys)
    assert code == 0, err
    model = KAN.load(out_dir / "model.kan")
    assert model.input_names == ["a_m", "b", "noise"]
    assert (out_dir / "network.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_irrelevant_column_not_in_formula_example(tmp_path, capsys):
    # noise_col has negative values, so the power law does not apply: the log-KAN generator finds it.
    code, out, err = _run(["discover", example_path(), "--target", "E [J]", "--generators",
                           "linear,multiplicative", "--no-progress", "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "result.json").read_text())
    assert summary["formula"] == "m_kg*v_m_s**2/2"
    assert summary["generator"] in {row["source"] for row in summary["pareto"]}  # provenance of the chosen formula
    assert summary["dropped_features"] == ["noise_col"]
    assert "`E [J]` = `m [kg]`*`v [m/s]`**2/2" in out


@pytest.mark.slow
def test_demo_command_recovers_kinetic_energy(tmp_path, capsys):
    """The README/Makefile demo, full defaults (its speed is measured in benchmarks/bench_cli.py)."""
    code, out, err = _run(["discover", example_path(), "--target", "E [J]", "--units", "noise_col=1",
                           "--out", tmp_path / "demo_out", "--no-progress"], capsys)
    assert code == 0, err
    assert not err.strip(), err  # the headers' units plus noise_col's: no warning
    summary = json.loads((tmp_path / "demo_out" / "result.json").read_text())
    assert summary["formula"] == "m_kg*v_m_s**2/2"
    assert summary["generator"] in {row["source"] for row in summary["pareto"]}  # provenance of the chosen formula
    assert summary["dropped_features"] == ["noise_col"]
    assert summary["units"]["dimensions"] == "consistent"


def test_spreadsheet_export_with_decimal_commas_and_quoted_headers(tmp_path, capsys):
    """A German-locale export: ';'-separated, decimal commas, quoted headers with commas, UTF-16, trailing ';'."""
    rng = np.random.default_rng(0)
    a, b = np.round(rng.uniform(1, 3, (2, 40)), 3)
    lines = ['"Temp, C";"Druck, bar";y;'] + [f"{u};{v};{2 * u + 3 * v:.3f};".replace(".", ",") for u, v in zip(a, b)]
    path = tmp_path / "export.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-16")
    code, out, err = _run(["discover", path, "--target", "y", "--decimal", ",", "--generators", "linear",
                           "--no-progress"], capsys)
    assert code == 0, err
    assert "y = 3*Druck_bar + 2*Temp_C" in out


@pytest.mark.slow
def test_three_variables_thousand_rows_with_defaults(tmp_path, capsys):
    rng = np.random.default_rng(2)
    X = rng.uniform(0.5, 2.0, (1000, 3))
    path = tmp_path / "three.csv"
    y = 3 * X[:, 0] + X[:, 1] ** 2 + np.sin(X[:, 2])
    pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "y": y}).to_csv(path, index=False)
    code, out, err = _run(["discover", path, "--target", "y", "--no-progress"], capsys)
    assert code == 0, err
    assert "formula:" in out


# ----------------------------------------------------------------------------- bad input
def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _rows(n: int, cols: int = 2) -> str:
    rng = np.random.default_rng(0)
    return "".join(",".join(f"{v:.4f}" for v in rng.uniform(1, 2, cols)) + f",{k}\n" for k in range(n))


BAD_INPUTS = {
    "missing target": ("a,b,y\n" + _rows(20), ["--target", "energy"], "no target column named 'energy'"),
    "non-numeric column": (
        "a,city,y\n" + "".join(f"{k},c{k},{k * 2}\n" for k in range(20)), ["--target", "y"],
        "non-numeric column(s) 'city'",
    ),
    "NaN cells with --on-missing error": (
        "a,b,y\n,1,2\n" + _rows(20), ["--target", "y", "--on-missing", "error"], "missing or infinite values",
    ),
    "constant target": ("a,b,y\n" + "".join(f"{k},{k * 3},5\n" for k in range(20)), ["--target", "y"], "is constant"),
    "too few rows": ("a,b,y\n" + _rows(5), ["--target", "y"], "need at least 10"),
    "duplicate columns": ("a,a,y\n" + _rows(20), ["--target", "y"], "duplicate column name"),
    "empty file": ("", ["--target", "y"], "is empty"),
    "binary file": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)), ["--target", "y"], "binary"),
    "missing file": (None, ["--target", "y"], "file not found"),
    "unknown feature": ("a,b,y\n" + _rows(20), ["--target", "y", "--features", "a,zz"], "no feature column named 'zz'"),
    "unknown generator": ("a,b,y\n" + _rows(20), ["--target", "y", "--generators", "linear,magic"], "magic"),
    "unknown library function": ("a,b,y\n" + _rows(20), ["--target", "y", "--library", "sin,sinc"], "sinc"),
    "bad time budget": ("a,b,y\n" + _rows(20), ["--target", "y", "--time-budget", "-1"], "--time-budget"),
    "missing --target option": ("a,b,y\n" + _rows(20), [], "--target"),
    "bad --on-missing choice": ("a,b,y\n" + _rows(20), ["--target", "y", "--on-missing", "skip"], "invalid choice"),
    "decimal commas": ("a;b;y\n" + _rows(20).replace(",", ";").replace(".", ","), ["--target", "y"],
                       "pass --decimal ','"),
    "thousands separators": ("a;y\n" + "".join(f"{k};{1000 * k + 1:,}\n" for k in range(1, 21)), ["--target", "y"],
                             "pass --thousands ','"),
    "bad --decimal": ("a,b,y\n" + _rows(20), ["--target", "y", "--decimal", "dot"], "decimal must be one character"),
    "same --decimal and --thousands": ("a,b,y\n" + _rows(20), ["--target", "y", "--decimal", ",", "--thousands", ","],
                                       "thousands must be None or one character other than the decimal mark"),
    "values beyond the header": ("a,b,y\n" + _rows(20).replace("\n", ",7\n"), ["--target", "y"],
                                 "more fields than the header's 3"),
    "unknown unit in a header": ("a [parsecz],b,y\n" + _rows(20), ["--target", "y"],
                                 "column 'a [parsecz]': unknown unit 'parsecz'"),
    "--units contradicts a header": ("a [m],b [s],y [m]\n" + _rows(20), ["--target", "y [m]", "--units", "a=km"],
                                     "column 'a [m]': the unit given ('km') contradicts the header's ('m')"),
    "--units on a text column": ("a,city,y\n" + "".join(f"{k},c{k},{k * 2}\n" for k in range(20)),
                                 ["--target", "y", "--features", "a", "--units", "a=m,city=s", "--target-units", "m"],
                                 "a unit is given for 'city', which is not an input or the target"),
    "bad --units syntax": ("a,b,y\n" + _rows(20), ["--target", "y", "--units", "a:m"], "'a:m' is not NAME=UNIT"),
    "--units leaves a column without": ("a,b,y\n" + _rows(20), ["--target", "y", "--units", "a=m",
                                                                "--target-units", "m"], "no unit for column 'b'"),
    "unknown --target-units": ("a,b,y\n" + _rows(20), ["--target", "y", "--units", "a=m,b=s",
                                                       "--target-units", "furlongz"], "column 'y': unknown unit"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_exit_code_2_one_line(case, tmp_path, capsys):
    content, opts, expected = BAD_INPUTS[case]
    path = tmp_path / "data.csv" if content is None else _write(tmp_path, "data.csv", content)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "result.json").write_text("old result")
    (out_dir / "notes.txt").write_text("mine")
    code, out, err = _run(["discover", path, *opts, "--out", out_dir, "--no-progress"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0]
    assert "Traceback" not in err
    # The existing output directory is untouched and no staging directory is left behind.
    assert (out_dir / "result.json").read_text() == "old result"
    assert (out_dir / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out_dir.iterdir()) == ["notes.txt", "result.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out"] + (["data.csv"] if content is not None else []))


def _energy_csv(tmp_path: Path, header: str) -> Path:
    # E in kJ of m in kg at v in km/h: E = m*(v/3.6)**2/2/1000 = m*v**2/25920 exactly
    rng = np.random.default_rng(3)
    m, v = rng.uniform(1, 5, 200), rng.uniform(10, 100, 200)
    rows = "".join(f"{a!r},{b!r},{a * b * b / 25920!r}\n" for a, b in zip(m.tolist(), v.tolist()))
    return _write(tmp_path, "energy.csv", header + "\n" + rows)


def test_header_units_give_the_exact_conversion_factor(tmp_path, capsys):
    path = _energy_csv(tmp_path, "m [kg],v [km/h],E [kJ]")
    code, out, err = _run(["discover", path, "--target", "E [kJ]", "--time-budget", "10", "--no-progress",
                           "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    assert "E_kJ = m_kg*v_km_h**2/25920" in out
    assert "dimensionally consistent" in out
    summary = json.loads((tmp_path / "out" / "result.json").read_text())
    assert summary["units_read_from_headers"] == {"m [kg]": "kg", "v [km/h]": "km/h", "E [kJ]": "kJ"}
    assert summary["units"]["dimensions"] == "consistent"
    assert "dimensions" in pd.read_csv(tmp_path / "out" / "equations.csv").columns


def test_units_given_on_the_command_line_by_variable_name(tmp_path, capsys):
    path = _energy_csv(tmp_path, "mass,speed,energy")
    code, out, err = _run(["discover", path, "--target", "energy", "--units", "mass=kg, speed=km/h",
                           "--target-units", "kJ", "--time-budget", "10", "--no-progress"], capsys)
    assert code == 0, err
    assert "energy = mass*speed**2/25920" in out


def test_units_on_some_headers_only_warn_and_search_without(tmp_path, capsys):
    path = _energy_csv(tmp_path, "m [kg],v,E [kJ]")
    code, out, err = _run(["discover", path, "--target", "E [kJ]", *FAST], capsys)
    assert code == 0, err
    assert "not for 'v': searching without units" in err
    assert "units:" not in out


def test_no_header_units_turns_reading_off(tmp_path, capsys):
    path = _energy_csv(tmp_path, "m [kg],v [km/h],E [kJ]")
    code, out, err = _run(["discover", path, "--target", "E [kJ]", "--no-header-units", *FAST,
                           "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "result.json").read_text())
    assert summary["units"] is None and summary["units_read_from_headers"] == {}


def test_nan_cells_dropped_with_warning(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 2, 30), rng.uniform(1, 2, 30)
    lines = ["a,b,y"] + [f"{x},{z},{x * z}" for x, z in zip(a, b)]
    lines[3] = f"{a[2]},,{a[2] * b[2]}"
    path = _write(tmp_path, "d.csv", "\n".join(lines) + "\n")
    code, out, err = _run(["discover", path, "--target", "y", *FAST], capsys)
    assert code == 0, err
    assert "warning" in err and "dropped 1 of 30 rows" in err
    assert "dropped rows:     1" in out


def test_constant_column_dropped_and_reported(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 2, 30), rng.uniform(1, 2, 30)
    path = tmp_path / "c.csv"
    pd.DataFrame({"a": a, "const": 4.0, "b": b, "y": a * b}).to_csv(path, index=False)
    out_dir = tmp_path / "o"
    code, out, err = _run(["discover", path, "--target", "y", "--out", out_dir, *FAST], capsys)
    assert code == 0, err
    assert "'const' (constant (every row is 4))" in out
    summary = json.loads((out_dir / "result.json").read_text())
    assert "const" in summary["dropped_features"]
    assert "const" not in summary["variables"]


def test_identifier_unfriendly_names(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 2, 30), rng.uniform(1, 2, 30)
    path = tmp_path / "n.csv"
    pd.DataFrame({"1st value": a, "lambda": b, "E": a + b}).to_csv(path, index=False)
    code, out, err = _run(["discover", path, "--target", "E", *FAST], capsys)
    assert code == 0, err
    assert "E = c_1st_value + lambda_" in out or "E = lambda_ + c_1st_value" in out


def test_out_is_a_file(linear_csv, tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    code, out, err = _run(["discover", linear_csv, "--target", "y", "--out", target, *FAST], capsys)
    assert code == 2 and "not a directory" in err and target.read_text() == "x"


def test_rerun_replaces_outputs_of_earlier_run(linear_csv, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "model.kan").write_text("stale")
    (out_dir / "mine.txt").write_text("keep")
    code, _, err = _run(["discover", linear_csv, "--target", "y", "--out", out_dir, *FAST], capsys)
    assert code == 0, err
    assert not (out_dir / "model.kan").exists()  # this run trained no KAN: no stale model left behind
    assert (out_dir / "mine.txt").read_text() == "keep"


# ----------------------------------------------------------------------------- failures, Ctrl-C
def test_internal_error_exit_1(linear_csv, tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("something broke\ninside")

    monkeypatch.setattr(discover_module, "discover", boom)
    out_dir = tmp_path / "out"
    code, out, err = _run(["discover", linear_csv, "--target", "y", "--out", out_dir, "--no-header-units", *FAST],
                          capsys)
    assert code == 1
    assert err.strip().splitlines() == ["kansr: internal error: RuntimeError: something broke inside "
                                        "(rerun with --debug for the traceback)"]
    assert not out_dir.exists()
    code, out, err = _run(["discover", linear_csv, "--target", "y", "--debug", *FAST], capsys)
    assert code == 1 and "Traceback" in err


def test_ctrl_c_reports_and_writes_what_was_found(linear_csv, tmp_path, capsys, monkeypatch):
    real = discover_module.discover

    def interrupted(*args, **kwargs):
        result = real(*args, **kwargs)
        result.interrupted = True
        return result

    monkeypatch.setattr(discover_module, "discover", interrupted)
    out_dir = tmp_path / "out"
    code, out, err = _run(["discover", linear_csv, "--target", "y", "--out", out_dir, *FAST], capsys)
    assert code == 130
    assert "interrupted" in err and "formula:" in out
    assert json.loads((out_dir / "result.json").read_text())["interrupted"] is True


def test_ctrl_c_before_anything_found(linear_csv, tmp_path, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(discover_module, "discover", interrupt)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "result.json").write_text("old")
    code, out, err = _run(["discover", linear_csv, "--target", "y", "--out", out_dir, *FAST], capsys)
    assert code == 130 and "interrupted" in err
    assert (out_dir / "result.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lin.csv", "out"]


# ----------------------------------------------------------------------------- parser
def test_no_command_and_help(capsys):
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert main(["discover", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--time-budget" in out and "--generators" in out and "--width" not in out


def test_bench_registered(capsys):
    """kansr.bench ships in this tree: a failure to import it is a bug, not a reason to skip."""
    importlib.import_module("kansr.bench.cli")  # an ImportError here fails the test
    assert main(["bench", "--help"]) == 0
    assert "feynman" in capsys.readouterr().out


def test_console_entry_point_in_subprocess(tmp_path):
    """The real process: exit code and a single stderr line for bad input."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "kansr.cli", "discover", str(tmp_path / "missing.csv"), "--target", "y"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "file not found" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_real_signal_reports_writes_and_cleans_up(tmp_path, signame, code):
    """Ctrl-C or SIGTERM to a real process during the search: it reports what it found, writes it, leaves no temp folder."""
    import signal

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 3))
    path = tmp_path / "hard.csv"
    y = np.tanh(X[:, 0] * X[:, 1]) + np.cos(3 * X[:, 2]) * X[:, 0]
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}).to_csv(path, index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out_dir = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kansr.cli", "discover", str(path), "--target", "y", "--out", str(out_dir),
         "--no-progress", "--debug", "--time-budget", "40"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        for line in proc.stderr:  # --debug logs each finished generator
            if "linear:" in line:
                break
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == code, err[-2000:]
    assert "formula:" in out and "Traceback" not in err
    assert json.loads((out_dir / "result.json").read_text())["interrupted"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.csv", "out"]  # no hidden staging folder


@pytest.mark.parametrize("signame, code, word", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
def test_signal_while_starting_up_is_one_line(tmp_path, signame, code, word):
    """A signal before the search (here: while the parser is built) ends with one line, no traceback."""
    script = (
        "import os, signal, sys\n"
        "import kansr.cli as cli\n"
        "real = cli.build_parser\n"
        f"def slow():\n    os.kill(os.getpid(), signal.{signame})\n    return real()\n"
        "cli.build_parser = slow\n"
        "sys.exit(cli.main(['discover', 'x.csv', '--target', 'y']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == code
    assert proc.stderr.strip().splitlines() == [f"kansr: {word}{' (SIGTERM)' if code == 143 else ''}; no outputs written"]


# ----------------------------------------------------------------------------- resources
def _run_process(args, tmp_path, memory_limit: int | None = None):
    import resource

    def limit():  # the issue's `ulimit -v`
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "kansr.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path, preexec_fn=limit if memory_limit else None)


@pytest.mark.slow
def test_many_columns_within_budget_under_2_gb(tmp_path):
    """40 rows x 50 columns once grew to 24 GB (every monomial enumerated before the size cap)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (40, 50))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(50)])
    frame["y"] = 2 * X[:, 0] + X[:, 1]
    frame.to_csv(tmp_path / "wide.csv", index=False)
    proc = _run_process(["discover", "wide.csv", "--target", "y", "--time-budget", "8", "--no-progress",
                         "--out", "out"], tmp_path, memory_limit=2 * 1024**3)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "y = 2*x0 + x1" in proc.stdout
    assert "48 more" not in proc.stdout and "and 40 more (not used by the formula)" in proc.stdout
    assert json.loads((tmp_path / "out" / "result.json").read_text())["seconds"] <= 1.1 * 8 + 3  # ≈ 1.1·T + a few s


def test_a_search_step_that_overruns_is_cut_at_the_hard_limit(capsys):
    """A step that ignores the budget (here: sleeps) is cut at 1.1*T + 1 s and its best result kept."""
    import time
    from types import SimpleNamespace

    from kansr.cli import _within_budget

    def search():
        found = SimpleNamespace(interrupted=False, log=[])
        try:
            time.sleep(30)
        except KeyboardInterrupt:  # as discover does: keep what was found
            found.interrupted = True
        return found

    t0 = time.perf_counter()
    result = _within_budget(0.5, search)
    assert time.perf_counter() - t0 < 3
    assert result.interrupted is False  # the budget ran out: no Ctrl-C to report
    assert "hard time limit of 1.55 s" in capsys.readouterr().err


@pytest.mark.slow
def test_many_rows_end_within_the_budget(tmp_path):
    """120,000 rows under a 10 s budget (the issue's case): the search stops on time (it once took 70 s)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (120_000, 2))
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": 2 * X[:, 0] + 3 * X[:, 1]}).to_csv(tmp_path / "big.csv", index=False)
    proc = _run_process(["discover", "big.csv", "--target", "y", "--time-budget", "10", "--no-progress",
                         "--out", "out"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "y = 2*a + 3*b" in proc.stdout
    assert json.loads((tmp_path / "out" / "result.json").read_text())["seconds"] <= 1.1 * 10 + 3


@pytest.mark.parametrize("k", [-300, -30, 160, 300])
def test_tiny_and_huge_targets_report_on_their_scale(k, tmp_path, capsys):
    """1e-15 once gave y = 0, 1e-300 a perfect R² from underflow, 1e160 a crash after writing result.json."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (200, 2))
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": (2 * X[:, 0] + 3 * X[:, 1]) * 10.0**k}).to_csv(path, index=False)
    code, out, err = _run(["discover", path, "--target", "y", "--out", tmp_path / "out", *FAST], capsys)
    assert code == 0, err
    assert f"y = 2.0e{k:+d}*a + 3.0e{k:+d}*b" in out
    summary = json.loads((tmp_path / "out" / "result.json").read_text())
    assert summary["r2_test"] > 0.999999 and 0 < summary["rmse_test"] < 1e-9 * 10.0**k


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(linear_csv, tmp_path):
    # `kansr discover ... | head -1`: the reader is gone before the report is printed
    proc = subprocess.Popen([sys.executable, "-m", "kansr.cli", "discover", str(linear_csv), "--target", "y",
                             *FAST, "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert "error" not in err, err
    assert (tmp_path / "out" / "result.json").exists()
