"""The committed tutorial baselines: where a fresh clone starts, and what training gives.

`pruning_lib/study/reference/baselines/` holds the tutorial's baselines of seeds 0 to 3
(float16 safetensors: training rounds its weights to float16), so that a fresh clone skips
minutes of training. The fast tests check that they are the ones the tutorial profile asks
for and are used as they are, back in float32 exactly. Training is deterministic bit for
bit, and `reference/baseline_hashes.json` holds the hash of every tutorial baseline's
weights: `make test`, after `pruning-lib compute`, checks the cache against it
(`-m trained`); `pytest -m retrain` trains each seed again from scratch and compares every
tensor with the committed files (about eight minutes a seed on one thread).
"""

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from pruning_lib.study import baseline
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.parameters import Settings

COMMITTED_SEEDS = (0, 1, 2, 3)


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
        weights = load_file(baseline.COMMITTED / name / "model.safetensors")
        assert {tensor.dtype for tensor in weights.values()} == {torch.float16}


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
    copied = load_file(folder / "model.safetensors")
    committed = load_file(baseline.COMMITTED / name / "model.safetensors")
    assert sorted(copied) == sorted(committed)
    for key, tensor in copied.items():  # float32 again, each value the committed float16
        assert tensor.dtype == torch.float32 and torch.equal(tensor, committed[key].float())
    assert (folder / "history.json").read_text() == (
        baseline.COMMITTED / name / "history.json"
    ).read_text()
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
    different = [k for k in trained if not torch.equal(trained[k], committed[k].float())]
    assert not different, f"retrained weights differ in {different[:3]}"
    assert (folder / "history.json").read_text() == (
        baseline.COMMITTED / name / "history.json"
    ).read_text()


HASHES = json.loads((baseline.COMMITTED.parent / "baseline_hashes.json").read_text())


def test_the_hashes_name_the_tutorial_seeds_and_the_committed_files():
    assert sorted(entry["seed"] for entry in HASHES.values()) == [0, 1, 2, 3]
    for seed in range(4):
        assert HASHES[tutorial_folder(seed)[1]]["seed"] == seed
    for name in (p.name for p in baseline.COMMITTED.iterdir()):
        weights = baseline.COMMITTED / name / "model.safetensors"
        assert baseline.weights_hash(weights) == HASHES[name]["model.safetensors"]


def test_the_weights_hash_is_sha256_of_the_float32_tensors_in_name_order(tmp_path):
    tensors = {"b": torch.tensor([1.5, -2.0]), "a": torch.tensor([[0.25]])}
    expected = hashlib.sha256(
        b"a" + np.float32([[0.25]]).tobytes() + b"b" + np.float32([1.5, -2.0]).tobytes()
    ).hexdigest()
    save_file(tensors, tmp_path / "full.safetensors")
    save_file({k: v.half() for k, v in tensors.items()}, tmp_path / "half.safetensors")
    assert baseline.weights_hash(tmp_path / "full.safetensors") == expected
    assert baseline.weights_hash(tmp_path / "half.safetensors") == expected


def test_training_rounds_the_weights_to_float16_numbers():
    layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.1, 1 / 3, 1e-5], [2.0, -0.7, 65000.0]]))
    baseline.round_weights(layer)
    assert layer.weight.dtype == torch.float32
    expected = torch.tensor([[0.1, 1 / 3, 1e-5], [2.0, -0.7, 65000.0]]).numpy().astype(np.float16)
    assert np.array_equal(layer.weight.detach().numpy(), expected.astype(np.float32))


@pytest.mark.trained
@pytest.mark.parametrize("seed", range(4), ids=[f"seed{s}" for s in range(4)])
def test_the_baselines_in_the_cache_are_the_recorded_weights(seed):
    """After `pruning-lib compute params/tutorial.yaml`, every baseline in the cache has the
    recorded weights, bit for bit."""
    experiment, name = tutorial_folder(seed)
    weights = experiment.cache / name / "model.safetensors"
    assert weights.is_file(), f"{name} is not in {experiment.cache}: run pruning-lib compute"
    assert baseline.weights_hash(weights) == HASHES[name]["model.safetensors"]


def test_commit_stores_float16_and_a_copy_restores_it_exactly(tmp_path, monkeypatch):
    cached = tmp_path / "cache" / "baseline-abc"
    cached.mkdir(parents=True)
    weights = {"w": torch.tensor([0.1, -1 / 3, 2.0]).half().float(), "b": torch.zeros(2)}
    save_file(weights, cached / "model.safetensors", metadata={"format": "pt"})
    (cached / "history.json").write_text("[]\n")
    monkeypatch.setattr(baseline, "COMMITTED", tmp_path / "committed")
    (tmp_path / "committed").mkdir()
    stored = load_file(baseline.commit(cached) / "model.safetensors")
    assert {t.dtype for t in stored.values()} == {torch.float16}
    restored = tmp_path / "elsewhere" / "baseline-abc"
    restored.parent.mkdir()
    assert baseline._copy_committed(restored)
    back = load_file(restored / "model.safetensors")
    assert all(back[k].dtype == torch.float32 and torch.equal(back[k], weights[k]) for k in weights)
    assert (restored / "history.json").read_text() == "[]\n"
    # Weights that are not float16 numbers would lose bits: refused, nothing written.
    save_file({"w": torch.tensor([0.1])}, cached / "model.safetensors")
    with pytest.raises(ValueError, match="not float16 numbers"):
        baseline.commit(cached)
