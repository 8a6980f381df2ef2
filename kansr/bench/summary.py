"""Summarise a benchmark directory as Markdown and a two-panel figure.

:func:`summarize` reads ``results.jsonl`` (written by
:func:`kansr.bench.runner.run_benchmark`), keeps the last line of each task,
and writes ``summary.md`` and ``summary.png`` next to it.
"""
from __future__ import annotations

import json
import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import feynman_data
from kansr._fileio import atomic_write, atomic_write_text
from kansr.bench.families import FAMILIES, family_table, r2_exact_share
from kansr.bench.runner import CONFIG_FILE, RESULTS_FILE, read_results, task_key

__all__ = ["PUBLISHED_ANCHORS", "summarize", "latest_records"]

#: Symbolic solution rates at noise 0 on SRBench's 116 Feynman problems, as
#: published in SRBench 2021 (La Cava et al.); runs of 8 hours or 1M evaluations.
PUBLISHED_ANCHORS: tuple[tuple[str, float], ...] = (
    ("AI Feynman", 55.8),
    ("AFP_FE", 27.0),
    ("GP-GOMEA", 26.8),
    ("DSR", 19.7),
    ("Operon", 16.6),
    ("gplearn", 16.3),
)

_MAX_FORMULA = 100  # characters shown per formula in the Markdown table


def latest_records(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The last recorded line of every task, in table order.

    Parameters
    ----------
    out_dir : path
        Benchmark output directory.

    Returns
    -------
    list of dict
        Sorted by equation (Feynman table order), noise and seed.
    """
    latest: dict[tuple[str, float, int], dict[str, Any]] = {}
    for record in read_results(out_dir):
        latest[task_key(record)] = record  # a rerun (retry_errors) supersedes the old line
    position = {eq: i for i, eq in enumerate(feynman_data.list_equations())}
    return sorted(latest.values(), key=lambda r: (position.get(r["equation"], len(position)), *task_key(r)))


def _in_srbench(eq_id: str) -> bool:
    try:
        return feynman_data.get(eq_id).in_srbench
    except (TypeError, ValueError):  # an id that is not a Feynman equation
        return False


def _rate(records: Sequence[Mapping[str, Any]], field: str) -> float:
    return 100.0 * sum(bool(r.get(field)) for r in records) / len(records) if records else float("nan")


def _median_seconds(records: Sequence[Mapping[str, Any]]) -> float:
    values = [float(r["seconds"]) for r in records if not r.get("error") and r.get("seconds") is not None]
    return statistics.median(values) if values else float("nan")


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.1f} %"


def _num(value: Any, fmt: str) -> str:
    return "–" if value is None or value != value else format(float(value), fmt)


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    text = " ".join(str(text).split())
    if len(text) > _MAX_FORMULA:
        text = text[: _MAX_FORMULA - 1] + "…"
    return text.replace("|", "\\|")


def _noise_table(records: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [
        "| noise | tasks | solved | solution rate | accuracy-solution rate (R² > 0.999) | median seconds | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for noise in sorted({float(r["noise"]) for r in records}):
        group = [r for r in records if float(r["noise"]) == noise]
        lines.append(
            f"| {noise:g} | {len(group)} | {sum(bool(r.get('solved')) for r in group)} | "
            f"{_pct(_rate(group, 'solved'))} | {_pct(_rate(group, 'accuracy_solved'))} | "
            f"{_num(_median_seconds(group), '.1f')} | {sum(bool(r.get('error')) for r in group)} |"
        )
    return lines


def _generator_table(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Tasks by the generator whose formula was chosen, and how many of them it solved."""
    lines = ["| noise | generator | tasks | solved | accuracy-solved (R² > 0.999) |", "|---:|---|---:|---:|---:|"]
    for noise in sorted({float(r["noise"]) for r in records}):
        group = [r for r in records if float(r["noise"]) == noise and not r.get("error")]
        by: dict[str, list[Mapping[str, Any]]] = {}
        for r in group:
            by.setdefault(r.get("generator") or "(not recorded)", []).append(r)
        for name, rows in sorted(by.items(), key=lambda kv: (-sum(bool(r.get("solved")) for r in kv[1]), kv[0])):
            lines.append(f"| {noise:g} | {_cell(name)} | {len(rows)} | {sum(bool(r.get('solved')) for r in rows)} | "
                         f"{sum(bool(r.get('accuracy_solved')) for r in rows)} |")
    return lines


def _anchor_table() -> list[str]:
    lines = ["| method | solution rate (published) |", "|---|---:|"]
    lines += [f"| {name} | {rate:.1f} % |" for name, rate in PUBLISHED_ANCHORS]
    return lines


def _task_rows(records: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["| equation | noise | seed | solved | R² | seconds | generator | structure | formula |",
             "|---|---:|---:|:---:|---:|---:|---|---|---|"]
    for r in records:
        if r.get("error"):
            formula = f"error: {_cell(r['error'])}"
        else:
            formula = f"`{_cell(r.get('formula') or '')}`"
        solved = "yes" if r.get("solved") else "no"
        lines.append(
            f"| {r['equation']} | {float(r['noise']):g} | {r['seed']} | {solved} | "
            f"{_num(r.get('r2'), '.4f')} | {_num(r.get('seconds'), '.1f')} | {_cell(r.get('generator') or '–')} | "
            f"{_cell(r.get('structure') or '–')} | {formula} |"
        )
    return lines


def _display_path(out: Path) -> str:
    """How the summary names its directory: never an absolute, machine-specific path.

    Relative to the repository that holds it (the nearest parent with a ``.git``,
    e.g. ``benchmarks/results/feynman_noise0``); outside any repository, the
    directory's own name. The directory may have been given as an absolute path
    on the command line, so the text is derived from the resolved path alone.
    """
    resolved = out.resolve()
    for parent in (resolved, *resolved.parents):
        if (parent / ".git").exists():
            return resolved.relative_to(parent).as_posix() or "."
    return resolved.name or "."


def _render(out: Path, records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> str:
    lines = ["# kansr benchmark summary", ""]
    equations = sorted({r["equation"] for r in records})
    settings = []
    if config.get("time_budget") is not None:
        settings.append(f"time budget {config['time_budget']:g} s per task")
    if config.get("n_train") is not None:
        settings.append(f"{config['n_train']} training rows")
    settings.append("with the variables' units" if config.get("units") else "without units")
    versions = sorted({str(r.get("kansr_version")) for r in records})
    settings.append(f"kansr {', '.join(versions) if versions else config.get('kansr_version', '?')}")
    lines += [
        f"Directory `{_display_path(out)}`: {len(records)} tasks over {len(equations)} equations; {'; '.join(settings)}.",
        "A task is *solved* when the formula is an SRBench symbolic solution (difference or ratio "
        "to the truth simplifies to a constant) with test R² > 0.5.",
        "",
    ]
    if not records:
        lines += ["No finished tasks yet.", ""]
    else:
        lines += ["## Solution rate by noise level (all tasks)", "", *_noise_table(records), ""]
        srbench = [r for r in records if _in_srbench(r["equation"])]
        covered = len({r["equation"] for r in srbench})
        lines += [f"## SRBench Feynman subset ({covered} of its 116 problems run)", ""]
        if srbench:
            if covered < 116:
                lines += [
                    "Rates are over the problems run here; they are comparable with SRBench only when all 116 are.",
                    "",
                ]
            lines += [*_noise_table(srbench), ""]
        else:
            lines += ["None of the equations run belong to the SRBench subset.", ""]
        lines += ["## By the generator of the chosen formula (all tasks)", "", *_generator_table(records), ""]
        lines += ["## Accurate and exact (all tasks)", "",
                  "Of the tasks whose formula fits the test set to R² > 0.999, how many are the exact formula: "
                  "the rest are accurate but structurally wrong.", "", *r2_exact_share(records), ""]
        lines += ["## By family of formula (all tasks)", "",
                  f"Families as in `kansr.bench.families` ({len(FAMILIES)} groups of hard forms).", "",
                  *family_table(records), ""]
    lines += [
        "## Published anchors (for context; not measured here)",
        "",
        "Symbolic solution rates reported by SRBench 2021 (La Cava et al.) at noise 0 on the 116 Feynman "
        "problems, with budgets of 8 hours or 1M evaluations per run — far more than the budget above.",
        "",
        *_anchor_table(),
        "",
    ]
    if records:
        lines += ["## Per task", "", *_task_rows(records), ""]
    return "\n".join(lines)


def _plot(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]):
    # Figure without pyplot: no global state, no GUI backend needed in workers or CI.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.8), layout="constrained")
    ax_rate, ax_time = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})

    noises = sorted({float(r["noise"]) for r in records})
    groups = (("all tasks", lambda r: True), ("SRBench subset", lambda r: _in_srbench(r["equation"])))
    width = 0.6 / len(groups)
    for g, (label, keep) in enumerate(groups):
        rates = [_rate([r for r in records if float(r["noise"]) == nz and keep(r)], "solved") for nz in noises]
        xs = [i + (g - (len(groups) - 1) / 2) * width for i in range(len(noises))]
        ax_rate.bar(xs, [0.0 if v != v else v for v in rates], width=width, label=label)
    ax_rate.set_xticks(range(len(noises)), [f"{nz:g}" for nz in noises])
    ax_rate.set_xlim(-0.6, max(len(noises), 1) - 0.4)
    ax_rate.set_xlabel("noise level")
    ax_rate.set_ylabel("solution rate (%)")
    ax_rate.set_ylim(0, 119)  # headroom for the legend above 100 %
    ax_rate.set_yticks(range(0, 101, 20))
    ax_rate.set_title("Solution rate by noise")
    if records:
        ax_rate.legend(loc="upper center", ncols=len(groups), fontsize="small")

    equations = list(dict.fromkeys(r["equation"] for r in records))
    position = {eq: i for i, eq in enumerate(equations)}
    styles = (
        ("solved", lambda r: not r.get("error") and r.get("solved"), "tab:green", "o"),
        ("not solved", lambda r: not r.get("error") and not r.get("solved"), "tab:red", "o"),
        ("error", lambda r: bool(r.get("error")), "black", "x"),
    )
    timed = [r for r in records if r.get("seconds") is not None]
    for label, keep, color, marker in styles:
        pts = [(position[r["equation"]], float(r["seconds"])) for r in timed if keep(r)]
        if pts:
            ax_time.scatter(*zip(*pts), c=color, marker=marker, s=22, label=label, alpha=0.8)
    if config.get("time_budget"):
        ax_time.axhline(float(config["time_budget"]), color="grey", ls="--", lw=1, label="time budget")
    if len(equations) <= 60:  # beyond that the labels overlap: leave the axis as an index
        ax_time.set_xticks(range(len(equations)), equations, rotation=90, fontsize="x-small")
    else:
        ax_time.set_xlabel("equation (Feynman table order)")
    top = max([float(r["seconds"]) for r in timed] + [float(config.get("time_budget") or 1)])
    ax_time.set_ylim(0, 1.2 * top)  # headroom for the legend
    ax_time.set_xlim(-0.75, max(len(equations), 1) - 0.25)
    ax_time.set_ylabel("seconds")
    ax_time.set_title("Time per equation")
    if records:
        ax_time.legend(loc="upper right", fontsize="small")
    return fig


def summarize(out_dir: str | os.PathLike[str]) -> str:
    """Write ``summary.md`` and ``summary.png`` for a benchmark directory.

    Parameters
    ----------
    out_dir : path
        Directory with ``results.jsonl`` (and ``config.json``).

    Returns
    -------
    str
        The Markdown text: solution rates per noise level (all tasks and the
        SRBench subset), accuracy-solution rates, median seconds, published
        SRBench anchors (clearly marked as not measured here) and one row
        per task.

    Raises
    ------
    ValueError
        If `out_dir` has no ``results.jsonl``.
    """
    out = Path(out_dir)
    if not (out / RESULTS_FILE).is_file():
        raise ValueError(f"{out} has no {RESULTS_FILE}; run `kansr bench feynman --out {out}` first")
    records = latest_records(out)
    config: dict[str, Any] = {}
    if (out / CONFIG_FILE).is_file():
        try:
            config = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8"))
        except ValueError:
            config = {}
    text = _render(out, records, config)

    atomic_write_text(out / "summary.md", text)
    fig = _plot(records, config)
    atomic_write(out / "summary.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    return text
