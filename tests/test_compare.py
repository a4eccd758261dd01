"""`pruning-lib compare`: malformed input is one line and exit 2; missing rows never pass."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pruning_lib.study.cli import compare, default_reference, main

CLI = [sys.executable, "-m", "pruning_lib.study.cli"]
REFERENCE = json.loads(default_reference().read_text())


def run(tmp_path: Path, content, capsys) -> tuple[int, str, str]:
    path = tmp_path / "results.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    code = main(["compare", str(path)])
    out = capsys.readouterr()
    return code, out.out, out.err


def with_table(value):
    return {**REFERENCE, "table_3": value}


@pytest.mark.parametrize(
    "content, words",
    [
        (3, ["JSON object"]),
        ("[1, 2]", ["JSON object"]),
        ({"table_3": {}, "table_4": []}, ["table_3 must be a list"]),
        (with_table([]), ["table_3 is empty"]),
        (with_table([{"model": "ours"}]), ["row 0", "'pr%'"]),
        (with_table([{"model": "ours", "pr%": "", "NQ": "high"}]), ["'NQ'='high'", "number"]),
        (with_table([3]), ["row 0 must be an object"]),
        ("{not json", ["not valid JSON"]),
    ],
)
def test_malformed_results_one_line_exit_2(tmp_path, capsys, content, words):
    code, out, err = run(tmp_path, content, capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pruning-lib: error:")
    for word in words:
        assert word in lines[0]


def test_the_reference_against_itself_passes(tmp_path, capsys):
    code, out, _ = run(tmp_path, REFERENCE, capsys)
    assert code == 0 and "missing" not in out


def test_one_of_the_rows_is_reported_missing_and_fails(tmp_path, capsys):
    partial = {
        "table_3": REFERENCE["table_3"][:1],
        "table_4": REFERENCE["table_4"][:1],
    }
    code, out, _ = run(tmp_path, partial, capsys)
    assert code == 1
    expected = len(REFERENCE["table_3"]) + len(REFERENCE["table_4"]) - 2
    assert f"{expected} rows or values missing" in out


def test_a_missing_value_or_a_nan_is_not_within():
    results = json.loads(json.dumps(REFERENCE))
    del results["table_4"][0]["NQ"]
    rows, ok = compare(results, REFERENCE, 3.0, 0.1)
    assert not ok and any(r["column"] == "NQ" and r["ours"] == "missing" for r in rows)
    results = json.loads(json.dumps(REFERENCE))
    results["table_4"][0]["NQ"] = float("nan")
    assert not compare(results, REFERENCE, 3.0, 0.1)[1]


def test_bad_tolerance_is_refused(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(REFERENCE))
    done = subprocess.run(
        [*CLI, "compare", str(path), "--accuracy-points", "nan"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--accuracy-points=nan" in done.stderr
