"""Notebook 11's kinds on the smoke world: what each choice changes, and what it refuses."""

import pytest

from pruning_lib.study.experiment import Experiment
from pruning_lib.study.runs import Run
from tests.conftest import smoke_settings


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    settings = smoke_settings(tmp_path_factory.mktemp("cache"), finetune_steps=3)
    return Experiment(settings, progress=False)


def _total(layers):
    return sum(layer["sparsity"] for layer in layers)


def test_allocations_prune_the_same_number_of_weights_differently(experiment):
    common = dict(sparsity=0.5, score="magnitude", pattern="unstructured")
    results = {
        name: experiment.result(Run.of("after_oneshot", 0, allocation=name, **common))
        for name in ("uniform", "global", "owl")
    }
    sparsities = {name: result["sparsity"] for name, result in results.items()}
    assert sparsities["uniform"] == pytest.approx(sparsities["global"], abs=1e-3)
    assert sparsities["uniform"] == pytest.approx(sparsities["owl"], abs=1e-3)
    uniform = [layer["sparsity"] for layer in results["uniform"]["layers"]]
    assert max(uniform) - min(uniform) < 0.01
    for name in ("global", "owl"):
        spread = [layer["sparsity"] for layer in results[name]["layers"]]
        assert max(spread) - min(spread) > 0.01, name


def test_reconstruction_lowers_every_layers_output_error(experiment):
    run = Run.of("after_oneshot", 0, sparsity=0.5, score="wanda", pattern="2:4",
                 reconstruct=True, calibration_text="qa", reconstruction_sequences=4)  # fmt: skip
    rows = experiment.result(run)["reconstruction"]
    assert rows and all(row["reconstructed"] < row["masked"] for row in rows)


def test_distilled_fine_tuning_and_removed_blocks_run(experiment):
    tuned = experiment.result(Run.of("after_finetuned", 0, sparsity=0.5, score="magnitude",
                                     pattern="unstructured", steps=3, distill=1.0))  # fmt: skip
    assert tuned["history"][-1]["step"] == 3 and tuned["sparsity"] >= 0.5
    removed = experiment.result(Run.of("blocks_removed", 0, count=1, steps=0))
    assert len(removed["removed"]) == 1 and len(removed["influence"]) >= 2
    assert 0 < removed["removed_prunable"] < removed["prunable"]


def test_bad_choices_are_refused_by_name(experiment):
    from pruning_lib.study import after

    model = experiment.fresh_model()
    with pytest.raises(ValueError, match="allocation="):
        after.prune(experiment, model, 0.5, "magnitude", "unstructured", "scan", False, "corpus", 4)
    with pytest.raises(ValueError, match="unstructured magnitude only"):
        after.prune(experiment, model, 0.5, "wanda", "unstructured", "owl", False, "corpus", 4)
    with pytest.raises(ValueError, match="calibration_text="):
        after.calibration(experiment, 4, "wiki")


def _kept_and_pruned(experiment, sparsity):
    """(kept, pruned) weights of each prunable layer at ``sparsity``: a hand count."""
    from pruning_lib.prune import Pruner

    weights = Pruner(experiment.fresh_model()).weights.values()
    return [(w.numel() - round(sparsity * w.numel()), round(sparsity * w.numel())) for w in weights]


def test_sparse_training_keeps_its_count_under_a_static_and_a_moving_mask(experiment):
    from pruning_lib.study import plans

    settings = experiment.settings
    layers = _kept_and_pruned(experiment, 0.5)
    kept = [k for k, _ in layers]
    static = experiment.result(plans.sparse_trained(settings, 0.5, "static"))
    moving = experiment.result(
        Run.of(
            "sparse_trained",
            0,
            sparsity=0.5,
            steps=12,
            mask="set",
            every=4,
            fraction=0.3,
            end_step=9,
        )  # fmt: skip
    )
    for result in (static, moving):
        # float16 rounding could only add zeros; the mask keeps exactly its count
        assert sum(kept) - 2 <= result["report"]["nonzero"] <= sum(kept)
    steps = settings.baseline_steps + settings.finetune_steps  # the pruned model's budget
    assert static["moved"] == [] and static["history"][-1]["step"] == steps
    # SET moves at steps 4 and 8 (12 is past end_step 9), 30% of each layer's kept weights
    assert [update["step"] for update in moving["moved"]] == [4, 8]
    expected = sum(min(round(0.3 * k), pruned) for k, pruned in layers)
    assert all(update["moved"] == expected for update in moving["moved"])
    assert static["scores"] != moving["scores"] or static["history"] != moving["history"]


def test_sparse_training_runs_are_planned_beside_their_references(tmp_path):
    from pruning_lib.study import plans
    from pruning_lib.study.parameters import Settings, check_parameters

    settings = smoke_settings(tmp_path)
    plan = plans.sparse_training(settings, 0.5, [0, 2])
    assert list(plan) == [0, 2]
    runs = plan[2]
    steps = settings.baseline_steps + settings.finetune_steps
    assert runs[("dense-small", 0.5)] == plans.dense_small(settings, 0.5, 2)
    for variant, mask in zip(plans.SPARSE_VARIANTS, ("static", "set")):
        run = runs[(variant, 0.5)]
        assert run.seed == 2 and run.kwargs["steps"] == steps and run.kwargs["mask"] == mask
    # the pruned reference is notebook 11's own fine-tuned run: computed once for both
    main = plans.after_magnitude(settings, [0.5], [2], 1.0, 1)[2]
    assert runs[("magnitude, fine-tuned", 0.5)] == main[("magnitude, fine-tuned", 0.5)]
    assert runs[("control", 0.0)] == main[("control", 0.0)]
    assert plans.sparse_training(settings, 0.5, []) == {}
    hub = Settings(model="gpt2")
    with pytest.raises(ValueError, match=r"sparse_training_seeds=\[0\] trains our toy GPT"):
        plans.sparse_training(hub, 0.5, [0])
    with pytest.raises(ValueError, match=r"sparse_training_seeds=\[1, 1\] lists a seed twice"):
        check_parameters({"sparse_training_seeds": [1, 1]})
    with pytest.raises(ValueError, match="sparse_training_sparsity"):
        check_parameters({"sparse_training_sparsity": 1.0})


def test_sparse_training_refuses_another_model_or_mask(experiment, tmp_path):
    from pruning_lib.study import after

    with pytest.raises(ValueError, match="mask='rigl'"):
        after.sparse_trained(experiment, 0.5, 4, mask="rigl")
    hub = Experiment(smoke_settings(tmp_path, model="gpt2"), progress=False)
    with pytest.raises(ValueError, match="model='toy'"):
        after.sparse_trained(hub, 0.5, 4)


def test_sparse_training_at_no_sparsity_is_the_baselines_training(experiment):
    """The from-scratch path is the baseline's: at sparsity 0 and the baseline's steps it
    gives the committed recipe's model, score for score (so any difference at sparsity 0.5
    is the mask's)."""
    settings = experiment.settings
    unmasked = experiment.result(
        Run.of("sparse_trained", 0, sparsity=0.0, steps=settings.baseline_steps, mask="static")
    )
    assert unmasked["sparsity"] < 0.01
    assert unmasked["scores"] == experiment.result(Run.of("dense", 0))["scores"]


def test_sparse_training_at_another_sparsity_pairs_every_variant_by_seed(experiment):
    from pruning_lib.study import equal_size, plans
    from pruning_lib.study.notebook import compute

    plan = plans.sparse_training(experiment.settings, 0.7, [0])
    study = equal_size.collect(experiment, compute(experiment, plan))
    assert study["small_seeds"] == study["seeds"] == [0]
    rows = {row["variant"]: row for row in equal_size.rows(study)}
    assert rows["dense-small"]["seeds"] == "0" and rows["dense-small"]["sparsity"] == 0.7
    # a model trained under the mask keeps the pruned model's non-zeros exactly
    assert rows["sparse, SET"]["parameters"] == rows["magnitude, fine-tuned"]["parameters"]
    _, _, sentence = equal_size.compare(study, ("sparse, SET", 0.7), ("dense-small", 0.7))
    assert "seeds [" not in sentence
