"""Masks that hold through fine-tuning: momentum, schedules, reload, deepcopy, L1."""

import copy

import pytest
import torch

from pruning_lib import finetune
from pruning_lib.config import TrainConfig
from pruning_lib.model import small_gpt
from pruning_lib.prune import Pruner
from pruning_lib.recipes import l1_then_prune
from pruning_lib.regularization import L1Penalty
from pruning_lib.schedules import Schedule
from tests.conftest import TINY_MODEL, accelerate_launch


def stream():
    g = torch.Generator().manual_seed(0)
    return torch.randint(1, 300, (3000,), generator=g)


def fresh(seed=0):
    torch.manual_seed(seed)
    return small_gpt(TINY_MODEL, vocab_size=400)


def cfg(steps, **kw):
    base = dict(steps=steps, batch_size=4, warmup_steps=0, learning_rate=1e-2, log_every=5)
    return TrainConfig(**{**base, **kw})


class GradientMaskOnly(Pruner):
    """The peers' bug: mask the gradients but never re-apply the mask to the weights."""

    def after_step(self, step):
        pass


@pytest.mark.parametrize("pruner_class, holds", [(Pruner, True), (GradientMaskOnly, False)])
def test_adamw_momentum_cannot_revive_pruned_weights(pruner_class, holds):
    # Prune at step 5 of one run: AdamW has momentum for every weight by then.
    model = fresh()
    schedule = Schedule("constant", 0.0, 0.5, begin_step=5, end_step=6, frequency=1)
    pruner = pruner_class(model, schedule=schedule)
    finetune.train(model, stream(), cfg(15, weight_decay=0.1), 32, hooks=pruner, progress=False)
    assert pruner.history[0]["sparsity"] == pytest.approx(0.5, abs=1e-3)
    if holds:
        for name, w in pruner.weights.items():
            assert (w[~pruner.masks[name]] == 0).all(), name
        assert pruner.sparsity() == pytest.approx(0.5, abs=1e-3)
    else:  # the negative control: the same check catches the buggy variant
        assert pruner.sparsity() < 0.1


@pytest.mark.parametrize("kind", ["linear", "exponential", "cubic", "constant"])
def test_schedule_inside_loop_reaches_exact_target(kind):
    model = fresh()
    schedule = Schedule(kind, 0.0, 0.5, begin_step=2, end_step=17, frequency=4)
    pruner = Pruner(model, schedule=schedule)
    finetune.train(model, stream(), cfg(25), 32, hooks=pruner, progress=False)
    for row in pruner.report()[:-1]:
        assert row["total"] - row["nonzero"] == round(0.5 * row["total"]), row["name"]
    assert [h["step"] for h in pruner.history] == schedule.pruning_steps()
    sparsities = [h["sparsity"] for h in pruner.history]
    assert all(b >= a - 1e-9 for a, b in zip(sparsities, sparsities[1:]))


def test_schedule_longer_than_training_is_refused_before_work():
    model = fresh()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruner = Pruner(model, schedule=Schedule("cubic", 0.0, 0.5, begin_step=0, end_step=20))
    with pytest.raises(
        ValueError, match=r"schedule.end_step=20 .*\(train.steps=10\); allowed: \[1, 9\]"
    ):
        finetune.train(model, stream(), cfg(10), 32, hooks=pruner, progress=False)
    assert pruner.masks == {}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_masks_survive_save_and_reload_then_more_training(tmp_path):
    from transformers import GPT2LMHeadModel

    model = fresh()
    pruner = Pruner(model)
    pruner.prune_magnitude(0.6, scope="global")
    model.save_pretrained(tmp_path / "model")
    pruner.save(tmp_path / "model" / "masks.safetensors")
    reloaded = GPT2LMHeadModel.from_pretrained(tmp_path / "model")
    again = Pruner(reloaded)
    again.load(tmp_path / "model" / "masks.safetensors")
    finetune.train(reloaded, stream(), cfg(8), 32, hooks=again, progress=False)
    assert again.sparsity() == pytest.approx(pruner.sparsity())
    for name in pruner.masks:
        assert (reloaded.get_parameter(name)[~pruner.masks[name]] == 0).all()


def test_deepcopy_of_model_while_pruning():
    model = fresh()
    pruner = Pruner(model)
    pruner.prune_magnitude(0.3)
    twin = copy.deepcopy(model)
    twin_pruner = copy.deepcopy(pruner)
    finetune.train(model, stream(), cfg(3), 32, hooks=pruner, progress=False)
    assert twin_pruner.sparsity() == pytest.approx(0.3, abs=1e-3)
    assert not any(p is q for p, q in zip(twin.parameters(), model.parameters()))


def test_l1_moves_weight_mass_toward_zero():
    def run(lam):
        model = fresh(seed=5)
        penalty = L1Penalty(model, lam)
        finetune.train(
            model, stream(), cfg(30, seed=5, learning_rate=3e-3), 32, hooks=penalty, progress=False
        )
        weights = torch.cat([w.detach().flatten() for w in penalty.weights.values()])
        return weights.abs().sum().item(), (weights.abs() < 1e-2).float().mean().item()

    mass0, small0 = run(0.0)
    mass1, small1 = run(1e-3)
    assert mass1 < 0.8 * mass0
    assert small1 > small0
    with pytest.raises(ValueError, match=r"lam=-1 is out of range; allowed: \[0, inf\)"):
        L1Penalty(fresh(), -1)


def test_l1_then_prune_recipe():
    model = fresh()
    result = l1_then_prune(
        model,
        stream(),
        32,
        lam=1e-4,
        l1_config=cfg(5),
        finetune_config=cfg(5),
        sparsity=0.4,
        progress=False,
    )
    assert result.sparsity_after_pruning == pytest.approx(0.4, abs=1e-3)
    assert result.pruner.sparsity() == pytest.approx(0.4, abs=1e-3)
    with pytest.raises(ValueError, match="exactly one"):
        l1_then_prune(fresh(), stream(), 32, lam=0.1, l1_config=cfg(5), sparsity=0.4, q=1.0)


@pytest.mark.slow
def test_two_processes_end_with_identical_masks_and_weights(tmp_path):
    import os
    import subprocess
    from pathlib import Path

    from safetensors.torch import load_file

    script = Path(__file__).with_name("ddp_prune_script.py")
    command = accelerate_launch(2, str(script), str(tmp_path))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(script.parent.parent)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = load_file(str(tmp_path / "rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "rank1.safetensors"))
    assert int(rank0["processes"]) == 2
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    masks = [k for k in rank0 if k.startswith("mask::")]
    assert masks and float(rank0["sparsity"]) == pytest.approx(0.5, abs=1e-3)
