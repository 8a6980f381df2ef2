"""Families of Feynman equations by the form of their formula, for the summary's tables.

The groups are those the recovery-engine work is measured on: the failure
analysis of the noise-0 run of November 2026 sorted the unsolved equations
by the shape of their truth.  They are facts about the formulas (a Planck
law has ``exp(...) - 1`` in a denominator whoever runs it), so an equation
stays in its family whether a later run solves it or not.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FAMILIES", "family_of", "family_table", "r2_exact_share"]

FAMILIES: dict[str, tuple[str, ...]] = {
    "sums of products, weighted means": ("I.11.19", "I.12.11", "I.18.4", "II.36.38", "III.17.37", "test_12"),
    "distances and norms": ("I.8.14", "I.9.18", "I.29.16", "III.10.19", "test_13"),
    "nested relativistic forms": ("I.15.3x", "I.15.3t", "I.16.6", "I.34.14", "test_8", "test_10", "test_15"),
    "Bose, Planck and cosh forms": ("I.41.16", "III.4.32", "III.4.33", "II.35.18", "II.11.17"),
    "oscillations": ("III.15.12", "III.8.54", "I.30.3"),
}


def family_of(equation: str) -> str | None:
    """The family an equation id belongs to, or None."""
    return next((name for name, members in FAMILIES.items() if equation in members), None)


def family_table(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown rows: per noise level and family, the equations run and solved (named)."""
    lines = ["| noise | family | run | solved | solved equations | unsolved equations |",
             "|---:|---|---:|---:|---|---|"]
    for noise in sorted({float(r["noise"]) for r in records}):
        group = [r for r in records if float(r["noise"]) == noise]
        for name, members in FAMILIES.items():
            rows = [r for r in group if r["equation"] in members]
            if not rows:
                continue
            solved = sorted({r["equation"] for r in rows if r.get("solved")})
            unsolved = sorted({r["equation"] for r in rows} - set(solved))
            lines.append(f"| {noise:g} | {name} | {len(rows)} | {sum(bool(r.get('solved')) for r in rows)} | "
                         f"{', '.join(solved) or '–'} | {', '.join(unsolved) or '–'} |")
    return lines


def r2_exact_share(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown rows: of the tasks fitted to test R² > 0.999, how many formulas are exact."""
    lines = ["| noise | tasks with R² > 0.999 | of them exact | share |", "|---:|---:|---:|---:|"]
    for noise in sorted({float(r["noise"]) for r in records}):
        accurate = [r for r in records if float(r["noise"]) == noise and r.get("accuracy_solved")]
        exact = sum(bool(r.get("solved")) for r in accurate)
        share = f"{100 * exact / len(accurate):.1f} %" if accurate else "–"
        lines.append(f"| {noise:g} | {len(accurate)} | {exact} | {share} |")
    return lines
