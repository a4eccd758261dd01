"""Notebook 10's answer table: the committed measurements read back, and advice that follows
the numbers."""

import json

import pytest

from pruning_lib.study import answer


def test_committed_measurements_load_and_hold_their_bar():
    benchmarks = answer.load_benchmarks()
    assert benchmarks is not None
    rows = benchmarks["structured"]["rows"]
    assert [r["mlp_neurons_removed"] for r in rows] == [0.0, 0.25, 0.5, 0.75, 0.875]
    # The multiply-add ratio by hand (gpt2-small, 128 tokens; bench_structured's formula).
    tokens, d = 128, 768
    for row in rows:
        dense = 4 * tokens * d * d + 2 * tokens * tokens * d + 2 * tokens * d * 3072
        pruned = 4 * tokens * d * d + 2 * tokens * tokens * d + 2 * tokens * d * row["inner"]
        assert row["inner"] == round(3072 * (1 - row["mlp_neurons_removed"]))
        assert row["mac_ratio"] == pytest.approx(dense / pruned, abs=1e-3)
        assert row["speedup"] / row["mac_ratio"] >= answer.BAR  # the bar, as measured
    assert all("meets the 0.85 bar" in s for s in answer.structured_checks(benchmarks))
    assert answer.speedup_range(benchmarks["sparse_kernels"], 0.5, 1)[1] < 1  # CSR loses at 0.5


def test_missing_measurements_are_none(tmp_path):
    assert answer.load_benchmarks(tmp_path) is None
    (tmp_path / "sparse_kernels.json").write_text(json.dumps({"rows": []}))
    assert answer.load_benchmarks(tmp_path) is None  # both files or nothing
    (tmp_path / "structured.json").write_text(json.dumps({"rows": []}))
    assert answer.load_benchmarks(tmp_path)["gpu_semi_structured"] is None  # not measured
    with pytest.raises(ValueError, match="sparsity=0.5, tokens=1"):
        answer.speedup_range({"rows": []}, 0.5, 1)


def test_advice_picks_the_least_measured_loss_among_the_ways_fast_enough():
    def row(name, speedup, change, whole_model=True):
        shown = "not measured" if change is None else f"{change:+.1f}"
        return {"pruning": name, "speedup": speedup, "change": change,
                "whole_model": whole_model, "mean QA change (toy)": shown}  # fmt: skip

    rows = [
        row("dense", 1.0, 0.0),
        row("CSR 0.99", 9.0, None, whole_model=False),  # a matmul
        row("A", 1.5, -0.1),
        row("B", 1.9, -0.3),
        row("C", 1.6, -0.05),
        row("D", 1.95, None),
    ]
    # Fast enough and the least measured loss: C, not the slower A nor the faster B.
    assert "C (1.60x measured" in answer.advice(rows, 1.4)
    assert "B (1.90x measured" in answer.advice(rows, 1.8)  # D's quality is unmeasured
    assert "expect a mean QA change of -0.3" in answer.advice(rows, 1.8)
    # A matmul alone is not a whole model: 9x is not offered for 2x.
    assert "no measured whole-model way" in answer.advice(rows, 2.0)
    assert "the fastest is D at 1.95x" in answer.advice(rows, 2.0)


@pytest.mark.parametrize("sparsity", [0.5, 0.7, 0.95])
def test_the_csr_size_factor_is_what_torch_stores(sparsity):
    """Planted bug: the factor printed from a wrong constant (notebook 10's file column)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(768, 3072, generator=generator)
    weight[torch.rand(weight.shape, generator=generator) < sparsity] = 0
    csr = weight.to_sparse_csr()
    stored = sum(t.numel() * t.element_size() for t in (csr.values(), csr.col_indices()))
    factor = stored / (weight.numel() * weight.element_size())
    assert answer.csr_size_factor(sparsity) == pytest.approx(factor, rel=0.01)


def test_the_answer_table_prints_the_csr_factor_of_each_measured_sparsity():
    benchmarks = answer.load_benchmarks()
    table = {r["pruning"]: r for r in answer.answer_rows(benchmarks, {"sizes": {}}, 0.748)}
    sparsities = sorted({r["sparsity"] for r in benchmarks["sparse_kernels"]["rows"]})
    assert len(sparsities) >= 3
    for sparsity in sparsities:
        shown = table[f"unstructured {sparsity:g}, CSR kernels"]["file (gpt2-small)"]
        assert shown == f"x{answer.csr_size_factor(sparsity):.2f} of the matrices"


def test_a_fine_tuned_row_is_measured_against_the_control_not_the_dense_model():
    # Two seeds, one task each of QA: the fine-tuned variant beats the dense model (more
    # training) but falls short of the dense model fine-tuned as long; the table must
    # report the latter, by hand: mean over seeds of (variant - control).
    from pruning_lib.study.records import make_records

    def scores(nq, webq, trivia):
        qa = zip(("nq_open", "web_questions", "trivia_qa"), (nq, webq, trivia))
        other = {"lambada": "acc", "story_cloze": "acc", "hellaswag": "acc"}
        return {
            "scores": {
                **{t: {"exact_match": v, "chance": 0.0} for t, v in qa},
                **{t: {metric: 0.5, "chance": 0.0} for t, metric in other.items()},
            }
        }

    sweeps = [
        {
            ("dense", 0.0): scores(0.40, 0.50, 0.60),
            ("control", 0.0): scores(0.60, 0.70, 0.80),
            ("magnitude unstructured fine-tuned", 0.5): scores(0.50, 0.60, 0.70),
        },
        {
            ("dense", 0.0): scores(0.42, 0.52, 0.62),
            ("control", 0.0): scores(0.64, 0.74, 0.84),
            ("magnitude unstructured fine-tuned", 0.5): scores(0.52, 0.62, 0.72),
        },
    ]
    n_items = dict.fromkeys(
        ("lambada", "story_cloze", "hellaswag", "nq_open", "web_questions", "trivia_qa"), 200
    )
    study = {
        "records": make_records(sweeps, n_items),
        "sizes": {("magnitude unstructured fine-tuned", 0.5): 1},
    }
    change, noise = answer.quality_change(study, "magnitude unstructured fine-tuned", 0.5)
    assert change == pytest.approx(((0.5 - 0.6) + (0.52 - 0.64)) / 2)  # -0.11, not +0.10
    table = answer.answer_rows(answer.load_benchmarks(), study, 0.748)
    masked = next(r for r in table if r["pruning"] == "unstructured 0.5, masked")
    assert masked["change"] == pytest.approx(-0.11)
    assert table[0]["mean QA change (toy)"] == "0 (the reference: dense, fine-tuned as long)"
