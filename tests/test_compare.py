"""`pruning-lib compare`: records agree when their difference is within its interval;
malformed input is one line and exit 2; missing records never pass."""

import copy
import json
from pathlib import Path

import pytest

from pruning_lib.study.cli import compare, main


def record(task: str, mean: float, half: float, metric: str = "exact_match") -> dict:
    return {
        "variant": "dense",
        "sparsity": 0.0,
        "task": task,
        "metric": metric,
        "values": [mean],
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
    }


REFERENCE = {
    "records": [
        record("nq_open", 0.60, 0.06),
        record("trivia_qa", 0.90, 0.04),
        record("lambada", 8.0, 0.5, metric="ppl"),
    ]
}


def run(tmp_path: Path, content, capsys, reference=REFERENCE) -> tuple[int, str, str]:
    path = tmp_path / "results.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    ref = tmp_path / "reference.json"
    ref.write_text(json.dumps(reference))
    code = main(["compare", str(path), "--reference", str(ref)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "content, words",
    [
        (3, ["JSON object"]),
        ("[1, 2]", ["JSON object"]),
        ({"records": {}}, ["'records' must be a list"]),
        ({"table_3": []}, ["'records' must be a list"]),
        ({"records": []}, ["'records' is empty"]),
        ({"records": [3]}, ["record 0 must be an object"]),
        ({"records": [{"variant": "dense"}]}, ["record 0", "'sparsity'"]),
        ({"records": [{**record("nq_open", 0.5, 0.1), "mean": "high"}]}, ["mean='high'"]),
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


def test_the_reference_against_itself_agrees(tmp_path, capsys):
    code, out, _ = run(tmp_path, REFERENCE, capsys)
    assert code == 0 and "3 of 3 records agree" in out


def test_a_reproduction_agrees_only_to_the_tolerance(tmp_path, capsys):
    # The tutorial is bitwise reproducible: a move far inside the 95% interval is a real
    # difference, and the default check must catch it.
    moved = copy.deepcopy(REFERENCE)
    moved["records"][0]["mean"] += 0.01
    assert not compare(moved, REFERENCE)[1]
    assert compare(moved, REFERENCE, tolerance=None)[1]  # the noise rule lets it pass
    moved["records"][0]["mean"] = REFERENCE["records"][0]["mean"] + 1e-12  # float printing
    assert compare(moved, REFERENCE)[1]
    results, reference = tmp_path / "ours.json", tmp_path / "reference.json"
    reference.write_text(json.dumps(REFERENCE))
    results.write_text(json.dumps({**REFERENCE, "records": [
        {**REFERENCE["records"][0], "mean": REFERENCE["records"][0]["mean"] + 0.01},
        *REFERENCE["records"][1:]]}))  # fmt: skip
    args = ["compare", str(results), "--reference", str(reference)]
    assert main(args) == 1 and "2 of 3 records agree to within 1e-09" in capsys.readouterr().out
    assert main([*args, "--noise"]) == 0
    assert "3 of 3 records agree within their 95% intervals" in capsys.readouterr().out


def test_agreement_is_judged_by_the_combined_interval():
    moved = copy.deepcopy(REFERENCE)
    # NQ: half-widths 0.06 and 0.06 combine to 0.0849; a move of 0.08 agrees, 0.09 does not.
    for shift, agrees in ((0.08, True), (0.09, False), (-0.09, False)):
        moved["records"][0].update(mean=0.60 + shift, ci_low=0.54 + shift, ci_high=0.66 + shift)
        rows, ok = compare(moved, REFERENCE, tolerance=None)
        assert ok is agrees
        assert rows[0]["noise"] == pytest.approx(0.06 * 2**0.5)
    # A run with a narrower interval (more seeds) still gets the reference's share.
    narrow = copy.deepcopy(REFERENCE)
    narrow["records"][1].update(mean=0.94, ci_low=0.939, ci_high=0.941)
    assert compare(narrow, REFERENCE, tolerance=None)[1]  # 0.04 <= hypot(0.04, 0.001)


def test_a_missing_or_extra_record_or_a_nan_fails(tmp_path, capsys):
    partial = {"records": REFERENCE["records"][:1]}
    code, out, _ = run(tmp_path, partial, capsys)
    assert code == 1 and "2 records missing or extra" in out
    extra = {"records": [*REFERENCE["records"], record("web_questions", 0.5, 0.05)]}
    assert not compare(extra, REFERENCE)[1]
    nan = copy.deepcopy(REFERENCE)
    nan["records"][0]["mean"] = float("nan")
    assert not compare(nan, REFERENCE)[1]


def test_the_committed_reference_has_records_in_the_documented_schema():
    from pruning_lib.evaluation.tasks import TASK_NAMES
    from pruning_lib.study.cli import default_reference

    reference = json.loads(default_reference().read_text())
    keys = {"variant", "sparsity", "task", "metric", "values", "mean", "ci_low", "ci_high"}
    assert reference["records"] and all(keys <= set(r) for r in reference["records"])
    assert {r["task"] for r in reference["records"]} == set(TASK_NAMES)
    for r in reference["records"]:
        assert len(r["values"]) == len(reference["seeds"])
        assert r["ci_low"] <= r["mean"] <= r["ci_high"]
