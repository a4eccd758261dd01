"""The ``pruning-lib`` command line: reproduce the paper's tables, compare a run.

Examples:
    pruning-lib reproduce params/tutorial.yaml
    pruning-lib compute params/tutorial.yaml     # the runs only, not the notebooks
    pruning-lib compare runs/tutorial/results.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from .files import OUT_ENV, runs_dir


def default_reference() -> Path:
    return Path(__file__).resolve().parent / "reference" / "tutorial_results.json"


OUT_HELP = (
    "where runs/ go: <out>/<profile>/ and the cache <out>/cache/ (default: ./runs, or the "
    "checkout's runs/ when working inside it; also $PRUNING_LIB_OUT)"
)
RECORD_KEYS = ("variant", "sparsity", "task", "metric")
NUMBER_KEYS = ("mean", "ci_low", "ci_high")


def check_results(data: Any, what: str) -> list[dict[str, Any]]:
    """The records of a results file, checked; a ValueError names what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object with a 'records' list")
    records = data.get("records")
    if not isinstance(records, list):
        raise ValueError(f"{what}: 'records' must be a list (written by reproduce?)")
    if not records:
        raise ValueError(f"{what}: 'records' is empty")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValueError(f"{what}: record {index} must be an object")
        for key in (*RECORD_KEYS, *NUMBER_KEYS):
            if key not in record:
                raise ValueError(f"{what}: record {index} has no {key!r}")
        for key in NUMBER_KEYS:
            value = record[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{what}: record {index} {key}={value!r} must be a number")
    return records


def _key(record: dict[str, Any]) -> tuple:
    return tuple(record[k] for k in RECORD_KEYS)


TOLERANCE = 1e-9  # the tutorial is bitwise reproducible on a CPU: only float printing differs


def compare(
    results: dict[str, Any], reference: dict[str, Any], tolerance: float | None = TOLERANCE
) -> tuple[list[dict], bool]:
    """Record-by-record agreement of two results files. A value agrees when its mean is
    within ``tolerance`` of the reference's: a reproduction of the tutorial on a CPU gives
    the same bits, so any real difference is caught. ``tolerance=None`` judges a run made
    elsewhere (a GPU, another library version) by the noise instead: it agrees when the
    difference of the means is within the 95% half-width of that difference (both
    intervals combined), which a real but small difference can pass. True when every
    reference record has an agreeing counterpart (a missing record or value is not a
    pass)."""
    from .uncertainty import difference

    ours = {_key(r): r for r in check_results(results, "results file")}
    theirs = {_key(r): r for r in check_results(reference, "reference file")}
    rows, ok = [], True
    for key in [k for k in ours if k not in theirs]:
        ok = False
        rows.append({"record": " ".join(map(str, key)), "ours": "not in the reference"})
    for key, expected in theirs.items():
        label = " ".join(map(str, key))
        record = ours.get(key)
        if record is None:
            ok = False
            rows.append({"record": label, "ours": "missing", "reference": "", "within": False})
            continue
        value, noise = difference(record, expected)
        allowed = noise if tolerance is None else tolerance
        within = math.isfinite(value) and math.isfinite(noise) and abs(value) <= allowed
        ok &= within
        rows.append(
            {
                "record": label,
                "ours": record["mean"],
                "reference": expected["mean"],
                "difference": value,
                "noise": noise,
                "within": within,
            }
        )
    for row in rows:
        row.setdefault("reference", "")
        row.setdefault("within", False)
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
    rep.add_argument("--out", default=None, help=OUT_HELP)
    rep.add_argument(
        "--no-resume",
        action="store_true",
        help="run every notebook again, even those whose outputs are current",
    )
    com = sub.add_parser(
        "compute",
        help="compute every run of a profile's notebooks, without running them",
        description="Compute (or find cached) every run the notebooks of PROFILE ask for, on "
        "every usable core; `reproduce` does this first, then runs the notebooks.",
    )
    com.add_argument("profile", help="a YAML parameter file, e.g. params/tutorial.yaml")
    com.add_argument("--out", default=None, help=OUT_HELP)
    com.add_argument(
        "--ship",
        action="store_true",
        help="store the computed runs as the runs shipped with the package (the tutorial "
        "profile; `make ship-runs`), instead of checking the shipped ones against them",
    )
    cmp_ = sub.add_parser(
        "compare",
        help="compare a results.json with the reference",
        description="Compare RESULTS (runs/<profile>/results.json) with the "
        "committed tutorial reference, record by record: two values agree when "
        f"they differ by at most {TOLERANCE:g} (the tutorial is bitwise reproducible on a "
        "CPU); with --noise, when their difference is within its 95% interval (seeds and "
        "items of both runs), for a run made on other hardware. "
        "Exit status 0 when every record agrees, 1 otherwise.",
    )
    cmp_.add_argument(
        "results",
        nargs="?",
        default=None,
        help="path of a results.json written by reproduce (default: <out>/tutorial/results.json)",
    )
    cmp_.add_argument("--out", default=None, help=OUT_HELP)
    cmp_.add_argument(
        "--reference",
        default=None,
        help="reference results.json (default: the committed tutorial results)",
    )
    cmp_.add_argument(
        "--noise",
        action="store_true",
        help="judge by the 95%% interval of each difference, not the tolerance (a run on a "
        "GPU or another machine, whose floats differ)",
    )
    args = parser.parse_args(argv)
    if args.out is not None:  # the notebooks and the pool's workers inherit it
        os.environ[OUT_ENV] = str(Path(args.out).resolve())
    try:
        if args.command == "reproduce":
            from . import reproduce

            reproduce.run(args.profile, resume=not args.no_resume)
            return 0
        if args.command == "compute":
            from . import reproduce

            _, jobs, _ = reproduce.plan(args.profile)
            reproduce.compute_runs(jobs, ship=args.ship)
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

    results = _read_json(args.results or runs_dir("tutorial") / "results.json", "results file")
    reference = _read_json(args.reference or default_reference(), "reference file")
    rows, ok = compare(results, reference, None if args.noise else TOLERANCE)
    columns = ["record", "ours", "reference", "difference", "noise", "within"]
    print(format_table(rows, columns, digits=3))
    inside = sum(r["within"] is True for r in rows)
    absent = sum(r["reference"] == "" for r in rows)
    print(
        f"{inside} of {len(rows)} records agree "
        + ("within their 95% intervals" if args.noise else f"to within {TOLERANCE:g}")
        + (f"; {absent} records missing or extra" if absent else "")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
