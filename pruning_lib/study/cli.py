"""The ``pruning-lib`` command line: reproduce the paper's tables, compare a run.

Examples:
    pruning-lib reproduce params/tutorial.yaml
    pruning-lib compare runs/tutorial/results.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from ..checks import check_number


def default_reference() -> Path:
    return Path(__file__).resolve().parent / "reference" / "tutorial_results.json"


TABLES = ("table_3", "table_4")
KEY_COLUMNS = ("model", "pr%")
LABEL_COLUMNS = ("nparams",)  # "1.01M": compared as written


def check_results(data: Any, what: str) -> dict[str, list[dict[str, Any]]]:
    """The two tables of a results file, checked; a ValueError names what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object with table_3 and table_4")
    tables = {}
    for table in TABLES:
        rows = data.get(table)
        if not isinstance(rows, list):
            raise ValueError(f"{what}: {table} must be a list of rows (written by reproduce?)")
        if not rows:
            raise ValueError(f"{what}: {table} is empty")
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ValueError(f"{what}: {table} row {index} must be an object")
            missing = [c for c in KEY_COLUMNS if c not in row]
            if missing:
                raise ValueError(f"{what}: {table} row {index} has no {missing[0]!r}")
            for column, value in row.items():
                if column in KEY_COLUMNS or value == "":
                    continue
                if column in LABEL_COLUMNS and isinstance(value, str):
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(
                        f"{what}: {table} row {index} column {column!r}={value!r} must be a number"
                    )
        tables[table] = rows
    return tables


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return str(row["model"]), str(row["pr%"])


def compare(
    results: dict[str, Any],
    reference: dict[str, Any],
    accuracy_points: float,
    perplexity_ratio: float,
) -> tuple[list[dict[str, Any]], bool]:
    """Value-by-value differences of two results files; True when every reference value
    has a counterpart within tolerance (a missing row or value is not a pass)."""
    ours_tables = check_results(results, "results file")
    theirs_tables = check_results(reference, "reference file")
    rows, ok = [], True

    def missing(label: str, column: str, where: str) -> None:
        nonlocal ok
        ok = False
        rows.append(
            {"row": label, "column": column, "ours": where, "reference": "", "within": False}
        )

    for table in TABLES:
        ours = {_key(r): r for r in ours_tables[table]}
        theirs = {_key(r): r for r in theirs_tables[table]}
        for key in [k for k in ours if k not in theirs]:
            missing(" ".join(key).strip(), "-", "not in the reference")
        for key, expected_row in theirs.items():
            label = " ".join(key).strip()
            row = ours.get(key)
            if row is None:
                missing(label, "-", "missing")
                continue
            for column, expected in expected_row.items():
                if column in KEY_COLUMNS or expected == "":
                    continue
                value = row.get(column, "")
                if value == "":
                    missing(label, column, "missing")
                    continue
                if column == "nparams":
                    within = value == expected
                elif column == "LAMBADA (ppl)":
                    within = (
                        math.isfinite(value)
                        and math.isfinite(expected)
                        and value > 0
                        and expected > 0
                        and abs(math.log(value / expected)) <= math.log(1 + perplexity_ratio)
                    )
                else:
                    within = math.isfinite(value) and abs(value - expected) <= accuracy_points
                ok &= within
                rows.append(
                    {
                        "row": label,
                        "column": column,
                        "ours": value,
                        "reference": expected,
                        "within": within,
                    }
                )
    return rows, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pruning-lib",
        description="Reproduce Tables 3 and 4 of arXiv 2310.04573 with papermill, "
        "and compare a run with the committed reference.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "reproduce",
        help="run every notebook with a parameter profile",
        description="Run the notebooks in order with the parameters of PROFILE "
        "into runs/<profile>/ (executed notebooks, results.json, results.md, "
        "figures). Notebooks whose outputs are current are skipped.",
    )
    rep.add_argument("profile", help="a YAML parameter file, e.g. params/tutorial.yaml")
    rep.add_argument(
        "--no-resume",
        action="store_true",
        help="run every notebook again, even those whose outputs are current",
    )
    rep.add_argument(
        "--refresh-notebooks",
        action="store_true",
        help="afterwards, execute notebooks/ in place with their defaults so the "
        "committed notebooks carry the tutorial outputs",
    )
    cmp_ = sub.add_parser(
        "compare",
        help="compare a results.json with the reference",
        description="Compare RESULTS (runs/<profile>/results.json) with the "
        "committed tutorial reference, value by value, within tolerances. "
        "Exit status 0 when every value is within them, 1 otherwise.",
    )
    cmp_.add_argument("results", help="path of a results.json written by reproduce")
    cmp_.add_argument(
        "--reference",
        default=None,
        help="reference results.json (default: the committed tutorial results)",
    )
    cmp_.add_argument(
        "--accuracy-points",
        type=float,
        default=3.0,
        help="allowed difference of accuracies, in percentage points (default 3)",
    )
    cmp_.add_argument(
        "--perplexity-ratio",
        type=float,
        default=0.10,
        help="allowed relative difference of perplexities (default 0.10)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "reproduce":
            from . import reproduce

            reproduce.run(args.profile, resume=not args.no_resume)
            if args.refresh_notebooks:
                reproduce.refresh_notebooks()
            return 0
        return _compare_command(args)
    except ValueError as error:
        print(f"pruning-lib: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"pruning-lib: {error}", file=sys.stderr)
        return 1


def _read_json(path: str | Path, what: str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} {str(path)!r} does not exist")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON: {error}") from None


def _compare_command(args) -> int:
    from .tables import format_table

    check_number("--accuracy-points", args.accuracy_points, 0)
    check_number("--perplexity-ratio", args.perplexity_ratio, 0)
    results = _read_json(args.results, "results file")
    reference = _read_json(args.reference or default_reference(), "reference file")
    rows, ok = compare(results, reference, args.accuracy_points, args.perplexity_ratio)
    print(format_table(rows, ["row", "column", "ours", "reference", "within"], digits=2))
    inside = sum(r["within"] for r in rows)
    absent = sum(r["reference"] == "" for r in rows)
    print(
        f"{inside} of {len(rows)} values within tolerance "
        f"(accuracy ±{args.accuracy_points} points, perplexity ±{args.perplexity_ratio:.0%})"
        + (f"; {absent} rows or values missing" if absent else "")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
