"""Build ``feynman_data/equations.json`` from the AI Feynman equation tables.

Usage::

    python benchmarks/build_feynman_data.py --tables DIR [--check]

``DIR`` must hold ``FeynmanEquations.csv`` and ``BonusEquations.csv`` as
published on the AI Feynman database page (UTF-8 with BOM, CRLF). Their
sha256 is checked against the known originals because many mirrors are
edited (renamed symbols, corrected counts). ``--check`` compares with the
committed json instead of writing it and exits with status 1 on a mismatch.

Variables are always taken from the non-empty ``v{i}_name`` cells: the
``# variables`` column is wrong in ten rows (e.g. II.37.1 says 6, lists 3).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a source checkout
    sys.path.insert(0, str(REPO))

from kansr.symbolic import parse_formula  # noqa: E402

OUTPUT = REPO / "feynman_data" / "equations.json"

TABLES = {
    "feynman": (
        "FeynmanEquations.csv",
        "6abfeccce0cd2747986eeff4439bec0c1b208ee9fc5feb7b546dfb2720535b49",
    ),
    "bonus": (
        "BonusEquations.csv",
        "cc4937f2262c1a864f8202dd5277bc0e11009bd81bfbadc292b5a13fd3140375",
    ),
}
# No data file exists in the AI Feynman database for this one (SRBench A.4).
NO_DATA_FILE = {"II.11.17"}
# SRBench also drops the arcsin/arccos problems, leaving 116 scored problems.
SRBENCH_EXCLUDED = NO_DATA_FILE | {"I.26.2", "I.30.5", "test_10"}
EXPECTED_COUNTS = {"feynman": 100, "bonus": 20}
_RENAMES = {"arcsin": "asin", "arccos": "acos"}


def normalise_formula(formula: str) -> str:
    """Rename numpy-style inverse trig functions to their sympy names."""
    return re.sub(r"\b(arcsin|arccos)\b", lambda m: _RENAMES[m.group(1)], formula.strip())


def read_table(path: Path, source: str) -> list[dict[str, Any]]:
    """Read one equation table into json-ready records (table order)."""
    records = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            eq_id = (row.get("Filename") or "").strip()
            if not eq_id:  # the bonus table ends with empty rows
                continue
            variables = []
            for i in range(1, 11):
                name = (row.get(f"v{i}_name") or "").strip()
                if name:
                    low, high = float(row[f"v{i}_low"]), float(row[f"v{i}_high"])
                    if not low < high:
                        raise ValueError(f"{eq_id}: range of {name} is [{low}, {high}]; expected low < high")
                    variables.append({"name": name, "low": low, "high": high})
            records.append(
                {
                    "id": eq_id,
                    "number": int(row["Number"]),
                    "source": source,
                    "output": row["Output"].strip(),
                    "formula": normalise_formula(row["Formula"]),
                    "variables": variables,
                    "in_srbench": eq_id not in SRBENCH_EXCLUDED,
                    "has_data_file": eq_id not in NO_DATA_FILE,
                }
            )
    if len(records) != EXPECTED_COUNTS[source]:
        raise ValueError(f"{path.name}: found {len(records)} equations, expected {EXPECTED_COUNTS[source]}")
    return records


def validate(records: list[dict[str, Any]]) -> None:
    """Parse every formula and check it uses exactly its listed variables."""
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate equation ids in the tables")
    for rec in records:
        names = [v["name"] for v in rec["variables"]]
        expr = parse_formula(rec["formula"], names)
        used = {s.name for s in expr.free_symbols}
        if used != set(names):
            raise ValueError(f"{rec['id']}: formula uses {sorted(used)}, table lists {sorted(names)}")
    if sum(r["in_srbench"] for r in records) != 116:
        raise ValueError("SRBench subset should have 116 equations")


def build(tables_dir: Path, verify_hash: bool = True) -> dict[str, Any]:
    """Return the json document built from the two tables in `tables_dir`."""
    records: list[dict[str, Any]] = []
    hashes = {}
    for source, (filename, sha256) in TABLES.items():
        path = tables_dir / filename
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; pass --tables DIR holding {filename}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if verify_hash and digest != sha256:
            raise ValueError(
                f"{path}: sha256 {digest} differs from the original table ({sha256}); "
                "use the unedited AI Feynman file or pass --no-verify"
            )
        hashes[filename] = digest
        records.extend(read_table(path, source))
    validate(records)
    return {
        "description": "AI Feynman equations (Feynman 100 + bonus 20), built by benchmarks/build_feynman_data.py",
        "tables_sha256": hashes,
        "equations": records,
    }


def dumps(doc: dict[str, Any]) -> str:
    """Serialise deterministically, one equation per line for readable diffs."""
    head = {k: v for k, v in doc.items() if k != "equations"}
    lines = [json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ","]
    lines.append(' "equations": [')
    rows = [json.dumps(rec, ensure_ascii=False) for rec in doc["equations"]]
    lines.append(",\n".join("  " + row for row in rows))
    lines.append(" ]\n}\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=Path, required=True, help="directory with the two CSV tables")
    parser.add_argument("--out", type=Path, default=OUTPUT, help=f"output json (default {OUTPUT})")
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    parser.add_argument("--no-verify", action="store_true", help="skip the sha256 check of the tables")
    args = parser.parse_args(argv)

    try:
        text = dumps(build(args.tables, verify_hash=not args.no_verify))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date; rerun without --check", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
