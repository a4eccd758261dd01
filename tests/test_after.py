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
