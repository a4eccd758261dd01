"""The profile's `method` and `pattern` keys: validated before any work, and the one-shot
runs they shape (Wanda, random, N:M) on the smoke-sized toy model."""

import dataclasses

import pytest
import torch

from pruning_lib.patterns import NM, RowWise
from pruning_lib.prune import Pruner
from pruning_lib.scores import calibration_batches, input_norms
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.parameters import Settings, check_parameters


@pytest.mark.parametrize(
    "values, words",
    [
        ({"pattern": "4:2"}, ["pattern='4:2'", "0 < N < M"]),
        ({"pattern": "0:4"}, ["pattern='0:4'"]),
        ({"pattern": "2-4"}, ["pattern='2-4'", "'unstructured'"]),
        ({"pattern": "2:4", "sparsities": [0.1, 0.5]}, ["sparsities=[0.1, 0.5]", "[0.5]"]),
        ({"method": "obs"}, ["method='obs'", "magnitude"]),
        ({"calibration_sequences": 0}, ["calibration_sequences=0", "[1,"]),
    ],
)
def test_bad_method_or_pattern_is_one_clear_error(values, words):
    with pytest.raises(ValueError) as error:
        check_parameters(values)
    for word in words:
        assert word in str(error.value)


def test_a_pattern_with_its_own_sparsity_is_accepted():
    settings, study = check_parameters({"pattern": "2:4", "sparsities": [0.5]})
    assert settings.pattern == "2:4" and study.sparsities == [0.5]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    settings = Settings(
        profile="methods",
        toy_size="smoke",
        baseline_steps=20,
        finetune_steps=4,
        batch_size=4,
        eval_limit=4,
        calibration_sequences=4,
        cache_dir=str(tmp_path_factory.mktemp("cache")),
    )
    return Experiment(settings, progress=False)


def _masks(experiment, score, pattern, sparsity):
    """The masks the experiment's one-shot run makes, rebuilt the documented way."""
    model = experiment.fresh_model()
    pruner = Pruner(model)
    scores = experiment.scores(score, model, pruner)
    if pattern == "2:4":
        pruner.prune_pattern(NM(2, 4), scores)
    elif score == "wanda":
        pruner.prune_pattern(RowWise(sparsity), scores)
    else:
        pruner.prune(sparsity, scores)
    return pruner


def test_wanda_scores_are_weights_times_input_norms_and_rows_are_pruned_evenly(experiment):
    model = experiment.fresh_model()
    pruner = Pruner(model)
    batches = calibration_batches(experiment.stream(), 4, experiment.block_size, seed=0)
    norms = input_norms(pruner, model, batches)
    scores = experiment.scores("wanda", model, pruner)
    for name, weight in pruner.weights.items():
        # GPT-2's Conv1D stores (in, out): the input axis is 0.
        assert torch.allclose(scores[name], weight.detach().abs() * norms[name][:, None])
    pruned = _masks(experiment, "wanda", "unstructured", 0.5)
    for mask in pruned.masks.values():
        per_output = (~mask).sum(dim=0)  # pruned per output unit (a column of Conv1D)
        assert bool((per_output == mask.shape[0] // 2).all())
    run = experiment.oneshot(0.5, score="wanda")
    assert run["sparsity"] == pytest.approx(0.5)
    magnitude = _masks(experiment, "magnitude", "unstructured", 0.5)
    assert any(not torch.equal(pruned.masks[n], magnitude.masks[n]) for n in pruned.masks)
    assert experiment.key("oneshot", score="wanda") != experiment.key("oneshot")


def test_two_four_holds_in_every_group_through_fine_tuning(experiment):
    run = experiment.oneshot(0.5, finetune=True, pattern="2:4")
    assert run["sparsity"] == pytest.approx(0.5)
    pruner = _masks(experiment, "magnitude", "2:4", 0.5)
    for name, mask in pruner.masks.items():
        groups = mask.T.reshape(mask.shape[1], -1, 4)  # (out, in/4, 4) along the input dim
        assert bool((groups.sum(-1) == 2).all()), name
    with pytest.raises(ValueError, match="does not fit pattern='2:4'"):
        experiment.oneshot(0.3, pattern="2:4")


def test_profile_method_reaches_the_main_sweep(experiment):
    wanda = Experiment(dataclasses.replace(experiment.settings, method="wanda"), progress=False)
    assert wanda.oneshot(0.5)["scores"] == experiment.oneshot(0.5, score="wanda")["scores"]


def test_reproduce_refuses_a_pattern_the_default_sparsities_cannot_meet(tmp_path):
    from pruning_lib.study.reproduce import plan

    path = tmp_path / "nm.yaml"
    path.write_text("profile: nm\npattern: '2:4'\n")
    with pytest.raises(ValueError, match=r"sparsities=\[0.1, 0.3, 0.5\] does not fit"):
        plan(path)
    path.write_text("profile: nm\npattern: '2:4'\nsparsities: [0.5]\n")
    assert plan(path)[2]["pattern"] == "2:4"


def test_the_last_curve_point_is_the_final_score_without_a_second_evaluation(experiment):
    """A fine-tuning run whose curve ends at its last step reuses that evaluation; the
    scores are those of the fine-tuned weights, as a fresh evaluation gives them."""
    calls = []
    evaluate = experiment.evaluate

    def counting(model):
        calls.append(model)
        return evaluate(model)

    experiment.oneshot(0.3, "layer")  # the curve's step 0, cached first
    experiment.evaluate = counting
    try:
        run = experiment.oneshot(0.3, "layer", finetune=True, checkpoints=[2, 4])
    finally:
        del experiment.evaluate
    assert [point["step"] for point in run["curve"]] == [0, 2, 4]
    assert len(calls) == 2  # steps 2 and 4; no third evaluation for the final scores
    assert run["scores"] == run["curve"][-1]["scores"] == evaluate(calls[-1])
    # A curve that stops before the end still gets its own final evaluation.
    experiment.evaluate = counting
    try:
        early = experiment.oneshot(0.3, "layer", finetune=True, checkpoints=[2])
    finally:
        del experiment.evaluate
    assert len(calls) == 2 + 2
    assert early["scores"] == evaluate(calls[-1])


def test_a_curve_of_another_length_is_another_cached_run(experiment):
    """The curve is part of a fine-tuning run's cached result, so its length is part of the
    key: the equal-size study (no curve) must not hand its run to 07 (a four-point curve),
    nor the other way round, whichever of them ran first."""
    full = experiment.oneshot(0.3, "layer", finetune=True)  # four points, computed first
    bare = experiment.oneshot(0.3, "layer", finetune=True, curve_points=0)
    assert [point["step"] for point in full["curve"]] == [0, 1, 2, 3, 4]
    assert [point["step"] for point in bare["curve"]] == [0]
    assert bare["scores"] == full["scores"]  # the same weights, evaluated once more or not
    again = experiment.oneshot(0.3, "layer", finetune=True)  # read back: still its own curve
    assert [point["step"] for point in again["curve"]] == [0, 1, 2, 3, 4]
    bare_control = experiment.control(curve_points=0)
    control = experiment.control(curve_points=2)
    assert [point["step"] for point in bare_control["curve"]] == [0]
    assert [point["step"] for point in control["curve"]] == [0, 2, 4]


def test_a_scan_run_and_its_dense_reference_use_the_same_first_items(experiment):
    from pruning_lib.study.evaluate import main_metric
    from pruning_lib.study.experiment import SCAN_ITEMS
    from pruning_lib.study.notebook import mean_score
    from pruning_lib.study.tasks import TASK_NAMES

    name = next(iter(Pruner(experiment.fresh_model()).weights))
    run = experiment.layer_alone(name, 0.5)
    assert run["items"] == SCAN_ITEMS
    two = experiment.evaluate(experiment.fresh_model(), items=2)
    assert all(len(two[t]["correct"]) == 2 for t in TASK_NAMES)
    dense = experiment.dense()["scores"]
    assert all(two[t]["correct"] == dense[t]["correct"][:2] for t in TASK_NAMES)
    by_hand = sum(dense[t]["correct"][:2].count("1") / 2 for t in TASK_NAMES) / len(TASK_NAMES)
    assert mean_score(dense, 2) == pytest.approx(by_hand)
    whole = sum(dense[t][main_metric(t)] for t in TASK_NAMES) / len(TASK_NAMES)
    assert mean_score(dense) == pytest.approx(whole)


def test_the_main_sweep_draws_curves_at_its_own_seed_only(experiment):
    """Notebook 06 plots the recovery curves of ``seed``; 07's other seeds' fine-tunings
    skip theirs (three evaluations each) and share their magnitude run with 09's."""
    from pruning_lib.study import equal_size
    from pruning_lib.study.experiment import CURVE_POINTS
    from pruning_lib.study.results import collect, prefetch_seeds, with_seed

    collect(experiment, [0.5], seeds=[0, 1])
    results = experiment.cache / "results"
    before = sorted(p.name for p in results.glob("*.json"))
    own = experiment.oneshot(0.5, "layer", finetune=True)  # 06's run: read from the cache
    assert len(own["curve"]) == CURVE_POINTS + 1
    other = with_seed(experiment, 1)
    assert len(other.oneshot(0.5, "layer", finetune=True, curve_points=0)["curve"]) == 1
    assert len(other.control(curve_points=0)["curve"]) == 1
    shared = ["magnitude unstructured fine-tuned"]
    equal_size.seed_runs(other, [0.5], with_dense_small=False, variants=shared)
    assert sorted(p.name for p in results.glob("*.json")) == before  # nothing computed anew
    # reproduce's second process fills the same keys.
    parameters = {**dataclasses.asdict(experiment.settings), "seeds": [0, 1], "sparsities": [0.5]}
    assert prefetch_seeds(parameters) == [1]
    assert sorted(p.name for p in results.glob("*.json")) == before
