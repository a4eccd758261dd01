"""Quality at equal size (notebooks 09 and 10): the plan, structured runs at the matched
parameter count, the dense-small model of the pruned size, and the paired comparisons."""

import dataclasses

import pytest

from pruning_lib.efficiency import parameter_counts
from pruning_lib.study import equal_size, plans
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.kinds import small_width
from pruning_lib.study.model import small_gpt
from pruning_lib.study.parameters import check_parameters
from pruning_lib.study.pool import compute
from tests.conftest import smoke_settings


def test_the_plan_runs_2_4_only_where_it_fits_and_random_one_shot_only(tmp_path):
    settings = smoke_settings(tmp_path)
    runs = plans.equal_size(settings, [0.5, 0.7], [0, 1])[1]
    assert runs[("control", 0.0)] == plans.control(settings, 1)  # fine-tuned runs' reference
    grid = [(v, s) for v, s in runs if not v.startswith(("dense", "structured", "control"))]
    assert ("magnitude 2:4 fine-tuned", 0.5) in grid
    assert not [v for v, s in grid if "2:4" in v and s == 0.7]
    assert not [v for v, s in grid if v.startswith("random") and "fine-tuned" in v]
    # 0.5: 3 scores x 2 patterns one-shot, + 4 fine-tuned; 0.7: 3 one-shot + 2 fine-tuned
    assert len(grid) == 10 + 5
    assert all(run.seed == 1 for run in runs.values())
    structured = [(v, s) for v, s in runs if v.startswith("structured")]
    matched = plans.structured_label(plans.matched_fraction(settings), True)
    assert (matched, 0.5) in structured and ("structured 25% fine-tuned", None) in structured
    assert ("structured 25% one-shot", None) not in structured  # timed shares: fine-tuned
    # dense-small only where asked, and only beside 0.5 (its size is unstructured 0.5's).
    assert ("dense-small", 0.5) not in runs
    assert ("dense-small", 0.5) in plans.equal_size(settings, [0.5], [1], [1])[1]
    assert ("dense-small", 0.5) not in plans.equal_size(settings, [0.7], [1], [1])[1]


def test_09_and_10_ask_for_one_study():
    from pruning_lib.study.parameters import Settings, StudyParameters

    settings, study = Settings(), StudyParameters()
    nine = plans.notebook_runs("09_scores_patterns", settings, study)
    ten = plans.notebook_runs("10_efficiency_answer", settings, study)
    assert ten[: len(nine)] == nine or set(nine) <= set(ten)
    # ...and 10 adds only 07's magnitude fine-tuned runs at the sweep's other sparsities,
    # and notebook 11's fine-tuned rows at the same seeds.
    main = plans.runs_in(plans.main_sweep(settings, study.sparsities, study.equal_size_seeds))
    after = plans.runs_in(plans.answer_after(settings, study.equal_size_seeds, 1.0, 1))
    eleven = plans.notebook_runs("11_after_magnitude", settings, study)
    assert set(after) <= set(eleven)
    extra = set(ten) - set(nine) - set(after)
    assert extra and extra <= {r for r in main if r.kind == "finetuned"}
    assert {r.kwargs["sparsity"] for r in extra} == set(study.sparsities) - {0.5}
    # ...whose magnitude runs are the main sweep's (07): one run each, at each seed.
    sweep = plans.runs_in(plans.main_sweep(settings, [0.5], study.equal_size_seeds))
    assert set(sweep) - {r for r in sweep if r.kind == "control"} <= set(nine)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return Experiment(smoke_settings(tmp_path_factory.mktemp("cache"), finetune_steps=3),
                      progress=False)  # fmt: skip


def test_structured_removes_what_unstructured_removes(experiment):
    model = experiment.fresh_model()
    counts = parameter_counts(model)
    fraction = plans.mlp_fraction(model, 0.5)
    assert fraction == plans.matched_fraction(experiment.settings)  # the skeleton's
    run = experiment.result(plans.structured(experiment.settings, fraction, finetune=False))
    assert abs(run["sparsity"] - 0.5) < 0.01
    removed = counts["total"] - run["parameters"]
    # By hand for GPT-2: a neuron owns a c_fc column, its bias and a c_proj row: 2d + 1.
    d, layers = model.config.n_embd, model.config.n_layer
    width = 4 * d
    assert run["kept_neurons"] == width - round(fraction * width)
    assert removed == (width - run["kept_neurons"]) * (2 * d + 1) * layers
    # Within one neuron per layer of unstructured 0.5's count.
    assert abs(removed - 0.5 * counts["prunable"]) <= (2 * d + 1) * layers / 2
    with pytest.raises(ValueError, match="sparsity=0.7 removes more parameters"):
        plans.mlp_fraction(model, 0.7)


def test_dense_small_has_about_the_pruned_count_and_the_same_budget(experiment):
    settings = experiment.settings
    run = experiment.result(plans.dense_small(settings, 0.5))
    one_shot = experiment.result(plans.oneshot(settings, 0.5))
    counts = parameter_counts(experiment.fresh_model())
    target = counts["nonzero"] - counts["prunable_nonzero"] + one_shot["report"]["nonzero"]
    widths = range(8, experiment.model_config.n_embd + 1, 2)  # smoke: 2 heads
    sizes = {
        w: parameter_counts(
            small_gpt(
                dataclasses.replace(experiment.model_config, n_embd=w),
                vocab_size=len(experiment.tokenizer),
            )
        )["total"]
        for w in widths
    }
    assert run["width"] == small_width(experiment, target)
    assert run["parameters"] == sizes[run["width"]]
    assert min(abs(c - target) for c in sizes.values()) == abs(run["parameters"] - target)
    key = plans.dense_small(settings, 0.5).kwargs
    assert key["steps"] == settings.baseline_steps + settings.finetune_steps


def test_collect_gives_records_rows_and_verdicts_at_two_seeds(experiment):
    plan = plans.equal_size(experiment.settings, [0.5], [0, 1], dense_small_seeds=[1])
    study = equal_size.collect(experiment, compute(experiment, plan))
    variants = {r["variant"] for r in study["records"]}
    matched = plans.structured_label(plans.matched_fraction(experiment.settings), True)
    assert "wanda 2:4 fine-tuned" in variants and matched in variants
    assert "structured 50% fine-tuned" in variants and "structured 25% one-shot" not in variants
    assert all(len(r["values"]) == 2 for r in study["records"])
    # A share of neurons that matches no sparsity is keyed by the share it removes.
    fifty = [s for v, s in study["sizes"] if v == "structured 50% fine-tuned"]
    assert fifty == [
        round(study["runs"][0][("structured 50% fine-tuned", fifty[0])]["sparsity"], 2)
    ]
    rows = equal_size.rows(study)
    assert rows[0]["variant"] == "dense"
    for row in rows:  # a score's interval stays inside [0, 1]
        low, high = (float(x) for x in row["mean QA"].split("[")[1].rstrip("]").split(", "))
        assert 0.0 <= low <= float(row["mean QA"].split(" ")[0]) <= high <= 1.0
    assert [r["parameters"] for r in rows if r["variant"] == "magnitude 2:4 one-shot"] == [
        r["parameters"] for r in rows if r["variant"] == "magnitude unstructured one-shot"
    ]
    small = [r for r in rows if r["variant"] == "dense-small"]
    assert len(small) == 1 and small[0]["seeds"] == "1" and rows[0]["seeds"] == "0,1"
    assert all(len(r["values"]) == 1 for r in study["small_records"])
    _, _, against = equal_size.compare(
        study, ("dense-small", 0.5), ("magnitude unstructured fine-tuned", 0.5)
    )
    assert "seeds [1]" in against
    with pytest.raises(ValueError, match=r"dense_small_seeds=\[3\] has seeds \[3\]"):
        check_parameters({"dense_small_seeds": [3]})
    value, noise, sentence = equal_size.compare(
        study, ("wanda unstructured one-shot", 0.5), ("magnitude unstructured one-shot", 0.5)
    )
    assert noise > 0 and f"{value:+.3f}" in sentence and "(95%, 2 seeds)" in sentence
    assert ("inconclusive" in sentence) == (abs(value) <= noise)
    assert sentence.endswith("scores higher") == (abs(value) > noise)
    assert equal_size.reference("wanda 2:4 fine-tuned") == ("control", 0.0)
    assert equal_size.reference("structured 50% fine-tuned") == ("control", 0.0)
    assert equal_size.reference("wanda 2:4 one-shot") == ("dense", 0.0)


def test_dense_small_at_every_seed_shares_the_studys_records(experiment):
    plan = plans.equal_size(experiment.settings, [0.5], [0, 1], dense_small_seeds=[0, 1])
    study = equal_size.collect(experiment, compute(experiment, plan))
    assert study["small_seeds"] == study["seeds"] == [0, 1]
    assert study["small_records"] is study["records"]
    small = [r for r in study["records"] if r["variant"] == "dense-small"]  # a record a task
    assert small and all(len(r["values"]) == 2 for r in small)
    _, _, against = equal_size.compare(
        study, ("dense-small", 0.5), ("magnitude unstructured fine-tuned", 0.5)
    )
    assert "seeds [" not in against  # paired over the study's own seeds: nothing to add


def test_judge_prints_each_verdict_and_the_familys_note(experiment, capsys):
    plan = plans.equal_size(experiment.settings, [0.5], [0, 1], dense_small_seeds=[0, 1])
    study = equal_size.collect(experiment, compute(experiment, plan))
    pairs = [
        (("dense-small", 0.5), ("magnitude unstructured fine-tuned", 0.5)),
        (("magnitude unstructured one-shot", 0.5), ("dense", 0.0)),
    ]
    capsys.readouterr()
    judged = equal_size.judge(study, pairs)
    lines = capsys.readouterr().out.splitlines()
    assert list(judged) == pairs and len(lines) == 3
    for (first, second), line in zip(pairs, lines):
        assert judged[(first, second)] == equal_size.compare(study, first, second)[:2]
        assert line.startswith(f"- {first[0]} − {second[0]}")
    assert " (0.5) (mean QA)" in lines[1]  # against a reference at another sparsity
    assert "2 verdicts at 2 seeds" in lines[2] and "Holm" in lines[2]
