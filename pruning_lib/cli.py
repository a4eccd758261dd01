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

from . import report

ACCURACY_COLUMNS = [c for c in report.COMPLETION_COLUMNS if "ppl" not in c] + report.QA_COLUMNS


def default_reference() -> Path:
    return Path(__file__).resolve().parent / "reference" / "tutorial_results.json"


def compare(
    results: dict[str, Any],
    reference: dict[str, Any],
    accuracy_points: float,
    perplexity_ratio: float,
) -> tuple[list[dict[str, Any]], bool]:
    """Row-by-row differences of two results files; True when all are within tolerance."""
    rows, ok = [], True
    for table in ("table_3", "table_4"):
        theirs = {(r["model"], r["pr%"]): r for r in reference[table]}
        for row in results[table]:
            key = (row["model"], row["pr%"])
            if key not in theirs:
                rows.append(
                    {
                        "row": f"{key[0]} {key[1]}",
                        "column": "-",
                        "ours": "-",
                        "reference": "missing",
                        "within": False,
                    }
                )
                ok = False
                continue
            for column, value in row.items():
                if column in ("model", "pr%") or value == "" or theirs[key].get(column, "") == "":
                    continue
                expected = theirs[key][column]
                if column == "nparams":
                    within = value == expected
                elif column == "LAMBADA (ppl)":
                    within = (
                        math.isfinite(value)
                        and math.isfinite(expected)
                        and abs(math.log(value / expected)) <= math.log(1 + perplexity_ratio)
                    )
                else:
                    within = abs(value - expected) <= accuracy_points
                ok &= within
                rows.append(
                    {
                        "row": f"{key[0]} {key[1]}".strip(),
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
    from .notebook import format_table

    results = _read_json(args.results, "results file")
    reference = _read_json(args.reference or default_reference(), "reference file")
    for name, data in (("results", results), ("reference", reference)):
        if "table_3" not in data or "table_4" not in data:
            raise ValueError(f"{name} file has no table_3/table_4: was it written by reproduce?")
    rows, ok = compare(results, reference, args.accuracy_points, args.perplexity_ratio)
    print(format_table(rows, ["row", "column", "ours", "reference", "within"], digits=2))
    inside = sum(r["within"] for r in rows)
    print(
        f"{inside} of {len(rows)} values within tolerance "
        f"(accuracy ±{args.accuracy_points} points, perplexity ±{args.perplexity_ratio:.0%})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
