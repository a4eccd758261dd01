"""The committed tutorial baselines: where a fresh clone starts, and what training gives.

`pruning_lib/study/reference/baselines/` holds the tutorial's baselines of seeds 0 and 1, so
that a fresh clone skips minutes of training. The fast tests check that they are the ones the
tutorial profile asks for and are used as they are; the `retrain` tests train them again and
compare bit for bit: `make test` retrains seed 0 beside the other tests (about seven minutes;
both would push it past its hour on a fresh clone), `pytest -m retrain` checks both.
"""

import dataclasses

import pytest
import torch
from safetensors.torch import load_file

from pruning_lib.study import baseline
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.parameters import Settings

COMMITTED_SEEDS = (0, 1)


def tutorial_folder(seed):
    experiment = Experiment(Settings(seed=seed), progress=False)
    key = baseline.baseline_key(
        experiment.world_config, experiment.model_config, experiment.baseline_train_config()
    )
    return experiment, f"baseline-{key}"


def test_committed_baselines_are_the_tutorial_seeds_and_small():
    names = sorted(p.name for p in baseline.COMMITTED.iterdir())
    assert names == sorted(tutorial_folder(seed)[1] for seed in COMMITTED_SEEDS)
    total = sum(p.stat().st_size for p in baseline.COMMITTED.rglob("*") if p.is_file())
    assert total <= 10 * 2**20  # the bound: at most 10 MB in all
    for name in names:
        files = {p.name for p in (baseline.COMMITTED / name).iterdir()}
        assert {"model.safetensors", "history.json", "tokenizer.json", "config.json"} <= files
        assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)  # no pickle


def test_a_committed_baseline_is_copied_not_trained(tmp_path, monkeypatch):
    experiment, name = tutorial_folder(0)

    def no_training(*args, **kwargs):
        raise AssertionError("trained although a committed baseline exists")

    monkeypatch.setattr(baseline, "train", no_training)
    folder = baseline.build_baseline(
        experiment.world_config,
        experiment.model_config,
        experiment.baseline_train_config(),
        cache_dir=tmp_path,
        progress=False,
    )
    assert folder == tmp_path / name
    committed = baseline.COMMITTED / name / "model.safetensors"
    assert (folder / "model.safetensors").read_bytes() == committed.read_bytes()
    assert not list(tmp_path.glob("*.copying-*"))
    # Another seed has no committed copy: it would be trained.
    other = dataclasses.replace(experiment.baseline_train_config(), seed=7)
    with pytest.raises(AssertionError, match="trained although"):
        baseline.build_baseline(
            experiment.world_config, experiment.model_config, other, cache_dir=tmp_path
        )


@pytest.mark.retrain
@pytest.mark.parametrize("seed", COMMITTED_SEEDS, ids=[f"seed{s}" for s in COMMITTED_SEEDS])
def test_retraining_gives_the_committed_weights_bit_for_bit(seed, tmp_path):
    experiment, name = tutorial_folder(seed)
    torch.set_num_threads(1)
    folder = baseline.build_baseline(
        experiment.world_config,
        experiment.model_config,
        experiment.baseline_train_config(),
        cache_dir=tmp_path,
        progress=False,
        retrain=True,
    )
    trained = load_file(folder / "model.safetensors")
    committed = load_file(baseline.COMMITTED / name / "model.safetensors")
    assert sorted(trained) == sorted(committed)
    different = [k for k in trained if not torch.equal(trained[k], committed[k])]
    assert not different, f"retrained weights differ in {different[:3]}"
    assert (folder / "history.json").read_text() == (
        baseline.COMMITTED / name / "history.json"
    ).read_text()
