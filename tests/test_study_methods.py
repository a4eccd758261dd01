"""The one-shot method of the study: the profile's `method` and `pattern` keys checked before
any work, and the runs they shape (Wanda, random, N:M) on the smoke-sized toy model, built
independently here and compared with what the study's runs computed."""

import dataclasses

import pytest
import torch

from pruning_lib.prune import Pruner
from pruning_lib.scores import calibration_batches, input_norms
from pruning_lib.study import plans
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.parameters import check_parameters
from tests.conftest import smoke_settings


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
    return Experiment(smoke_settings(tmp_path_factory.mktemp("cache")), progress=False)


def evaluated(experiment, run, monkeypatch):
    """The weights of every model the run evaluated, in order (the last: its final model)."""
    seen = []
    evaluate = experiment.evaluate

    def spy(model, items=None):
        seen.append({n: w.detach().clone() for n, w in Pruner(model).weights.items()})
        return evaluate(model, items)

    monkeypatch.setattr(experiment, "evaluate", spy)
    experiment.path(run).unlink(missing_ok=True)
    result = experiment.result(run)
    monkeypatch.undo()
    return result, seen


def by_hand(experiment, keep_of):
    """Masks built here: ``keep_of(name, score as (out, in))`` -> kept (out, in)."""
    model = experiment.fresh_model()
    pruner = Pruner(model)
    batches = calibration_batches(experiment.stream(), 4, experiment.block_size, seed=0)
    norms = input_norms(pruner, model, batches)
    masks = {}
    for name, weight in pruner.weights.items():
        rows = weight.detach().t()  # GPT-2's Conv1D stores (in, out)
        masks[name] = keep_of(rows, norms[name]).t()
    return masks


# Baselines hold float16 numbers, so scores tie; the references break ties as the library
# documents: a row prunes its lowest, of equal ones the first; N:M keeps the largest, of
# equal ones the first (stable sorts).
def top_half_per_row(score):
    kept = torch.ones_like(score, dtype=torch.bool)
    lowest_first = score.sort(dim=1, stable=True).indices
    kept.scatter_(1, lowest_first[:, : score.shape[1] - score.shape[1] // 2], False)
    return kept


def test_the_wanda_run_prunes_weights_times_input_norms_within_each_row(experiment, monkeypatch):
    run = plans.oneshot(experiment.settings, 0.5, score="wanda")
    result, seen = evaluated(experiment, run, monkeypatch)
    expected = by_hand(experiment, lambda rows, norm: top_half_per_row(rows.abs() * norm))
    for name, weight in seen[-1].items():
        assert torch.equal(weight != 0, expected[name]), name
    assert result["sparsity"] == pytest.approx(0.5)
    # Magnitude pruning keeps other weights (so a dispatch that ignored the score fails).
    magnitude, seen_magnitude = evaluated(experiment, plans.oneshot(experiment.settings, 0.5),
                                          monkeypatch)  # fmt: skip
    assert any(not torch.equal(seen[-1][n] != 0, w != 0) for n, w in seen_magnitude[-1].items())


def test_two_four_holds_in_every_group_of_the_fine_tuned_model(experiment, monkeypatch):
    run = plans.finetuned(experiment.settings, 0.5, pattern="2:4", checkpoints=())
    result, seen = evaluated(experiment, run, monkeypatch)
    pruned = by_hand(experiment, lambda rows, norm: _two_of_four(rows.abs()))
    final = seen[-1]  # evaluated after fine-tuning
    for name, weight in final.items():
        assert torch.equal(weight != 0, pruned[name]), name  # the masks held...
        groups = (weight != 0).t().reshape(weight.shape[1], -1, 4)  # along the input dim
        assert bool((groups.sum(-1) == 2).all()), name
    start = Pruner(experiment.fresh_model()).weights
    assert all(not torch.equal(final[n], start[n] * pruned[n]) for n in final)  # ...and trained
    assert result["sparsity"] == pytest.approx(0.5) and result["history"]
    with pytest.raises(ValueError, match="does not fit pattern='2:4'"):
        experiment.result(plans.oneshot(experiment.settings, 0.3, pattern="2:4"))


def _two_of_four(score):
    groups = score.reshape(score.shape[0], -1, 4)
    kept = torch.zeros_like(groups, dtype=torch.bool)
    kept.scatter_(2, groups.sort(dim=2, descending=True, stable=True).indices[..., :2], True)
    return kept.reshape(score.shape)


def test_the_profile_method_and_pattern_reach_the_main_sweep(experiment):
    wanda = dataclasses.replace(experiment.settings, method="wanda")
    sweep = plans.main_sweep(wanda, [0.5], [0])[0]
    assert sweep[("one-shot", 0.5)] == plans.oneshot(experiment.settings, 0.5, score="wanda")
    nm = dataclasses.replace(experiment.settings, pattern="2:4")
    assert plans.main_sweep(nm, [0.5], [0])[0][("fine-tuned", 0.5)].kwargs["pattern"] == "2:4"
    assert plans.oneshot(wanda, 0.5).key(wanda) != plans.oneshot(nm, 0.5).key(nm)


def test_reproduce_refuses_a_pattern_the_default_sparsities_cannot_meet(tmp_path):
    from pruning_lib.study.reproduce import plan

    path = tmp_path / "nm.yaml"
    path.write_text("profile: nm\npattern: '2:4'\n")
    with pytest.raises(ValueError, match=r"sparsities=\[0.1, 0.3, 0.5, 0.7, 0.9\] does not fit"):
        plan(path)
    path.write_text("profile: nm\npattern: '2:4'\nsparsities: [0.5]\n")
    assert plan(path)[2]["pattern"] == "2:4"


def test_the_last_curve_point_is_the_final_score_without_a_second_evaluation(
    experiment, monkeypatch
):
    """A fine-tuning run whose curve ends at its last step reuses that evaluation; the
    scores are those of the fine-tuned weights, as a fresh evaluation gives them."""
    experiment.result(plans.oneshot(experiment.settings, 0.3))  # the curve's step 0, cached
    run, seen = evaluated(experiment, plans.finetuned(experiment.settings, 0.3, checkpoints=[2, 4]),
                          monkeypatch)  # fmt: skip
    assert [point["step"] for point in run["curve"]] == [0, 2, 4]
    assert len(seen) == 2  # steps 2 and 4; no third evaluation for the final scores
    assert run["scores"] == run["curve"][-1]["scores"]
    # A curve that stops before the end still gets its own final evaluation.
    early, seen = evaluated(experiment, plans.finetuned(experiment.settings, 0.3, checkpoints=[2]),
                            monkeypatch)  # fmt: skip
    assert len(seen) == 2 and early["scores"] == run["scores"]  # the same training


def test_a_scan_run_and_its_dense_reference_use_the_same_first_items(experiment):
    from pruning_lib.evaluation.evaluate import main_metric
    from pruning_lib.evaluation.tasks import TASK_NAMES
    from pruning_lib.study.kinds import SCAN_ITEMS
    from pruning_lib.study.notebook import mean_score

    name = plans.layer_names(experiment.settings)[0]
    assert name == next(iter(Pruner(experiment.fresh_model()).weights))  # skeleton = model
    run = experiment.result(plans.layer_alone(experiment.settings, name, 0.5))
    assert run["items"] == SCAN_ITEMS
    two = experiment.evaluate(experiment.fresh_model(), items=2)
    assert all(len(two[t]["correct"]) == 2 for t in TASK_NAMES)
    dense = experiment.result(plans.dense(experiment.settings))["scores"]
    assert all(two[t]["correct"] == dense[t]["correct"][:2] for t in TASK_NAMES)
    by_hand = sum(dense[t]["correct"][:2].count("1") / 2 for t in TASK_NAMES) / len(TASK_NAMES)
    assert mean_score(dense, 2) == pytest.approx(by_hand)
    whole = sum(dense[t][main_metric(t)] for t in TASK_NAMES) / len(TASK_NAMES)
    assert mean_score(dense) == pytest.approx(whole)
