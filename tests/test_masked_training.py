"""Masks that hold through fine-tuning: momentum, schedules, reload, deepcopy, L1."""

import copy

import pytest
import torch

from pruning_lib.config import TrainConfig
from pruning_lib.prune import Pruner
from pruning_lib.regularization import L1Penalty
from pruning_lib.schedules import Schedule
from pruning_lib.study.model import small_gpt
from pruning_lib.training import finetune
from pruning_lib.training.recipes import l1_then_prune
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
    pruner.prune(0.6, scope="global")
    model.save_pretrained(tmp_path / "model")
    pruner.save(tmp_path / "model" / "masks.safetensors")
    reloaded = GPT2LMHeadModel.from_pretrained(tmp_path / "model")
    again = Pruner(reloaded)
    again.load(tmp_path / "model" / "masks.safetensors")
    finetune.train(reloaded, stream(), cfg(8), 32, hooks=again, progress=False)
    assert again.sparsity() == pytest.approx(pruner.sparsity())
    for name in pruner.masks:
        assert (reloaded.get_parameter(name)[~pruner.masks[name]] == 0).all()


def test_deepcopy_of_a_pruned_model_and_its_pruner_is_whole_and_independent():
    # Peers shipped a deepcopy of a pruned model that fails (pytorch#37322).
    model = fresh()
    pruner = Pruner(model)
    pruner.prune(0.3)
    original = {k: v.clone() for k, v in model.state_dict().items()}
    twin, twin_pruner = copy.deepcopy((model, pruner))  # one memo: the pruner follows the twin
    assert all(torch.equal(original[k], v) for k, v in twin.state_dict().items())
    twin_parameters = {id(p) for p in twin.parameters()}
    assert all(id(parameter) in twin_parameters for parameter, _ in twin_pruner.refs.values())
    finetune.train(twin, stream(), cfg(3), 32, hooks=twin_pruner, progress=False)
    for name, weight in twin_pruner.weights.items():  # the masks held on the twin...
        assert bool((weight[~twin_pruner.masks[name]] == 0).all()), name
    assert twin_pruner.sparsity() == pytest.approx(pruner.sparsity())
    changed = [k for k, v in twin.state_dict().items() if not torch.equal(original[k], v)]
    assert changed  # ...it trained...
    assert all(torch.equal(original[k], v) for k, v in model.state_dict().items())  # ...alone


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


def test_gradients_of_pruned_weights_are_zeroed_before_clipping():
    # With clipping, a gradient that is masked only after the step still shrinks the
    # surviving gradients: masking must happen before the clip (after_backward).
    def run(mask_gradients: bool):
        model = fresh()
        pruner = Pruner(model)
        pruner.prune(0.5)
        if not mask_gradients:
            pruner.mask_gradients = lambda: None
        config = cfg(3, max_grad_norm=0.05)
        finetune.train(model, stream(), config, 32, hooks=pruner, progress=False)
        return {k: v.clone() for k, v in model.state_dict().items()}

    masked, unmasked = run(True), run(False)
    assert any(not torch.equal(masked[k], unmasked[k]) for k in masked)


def test_mask_gradients_zeroes_exactly_the_pruned_gradients():
    model = fresh()
    pruner = Pruner(model)
    pruner.prune(0.5)
    batch = stream()[:64].view(2, 32)
    model(input_ids=batch, labels=batch).loss.backward()
    pruner.mask_gradients()
    for name, weight in pruner.weights.items():
        assert (weight.grad[~pruner.masks[name]] == 0).all(), name
        assert (weight.grad[pruner.masks[name]] != 0).any(), name


def test_a_schedule_ending_on_the_last_step_is_refused():
    # end_step == steps would never run the last pruning: 0.4 instead of 0.5.
    pruner = Pruner(fresh(), schedule=Schedule("linear", 0.0, 0.5, begin_step=0, end_step=10))
    with pytest.raises(ValueError, match=r"end_step=10 .*train.steps=10"):
        pruner.before_training(cfg(10))
    pruner.before_training(cfg(11))  # one more step and the target is reached


def test_l1_penalty_is_the_sum_of_absolute_values_not_squares():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.5, -2.0, 0.0], [3.0, 0.25, -0.1]]))
    penalty = L1Penalty(model, 0.1).penalty(model)
    assert penalty.item() == pytest.approx(0.1 * (0.5 + 2.0 + 3.0 + 0.25 + 0.1))
    penalty.backward()  # d|w|/dw = sign(w): 0.1 * sign, not 0.2 * w
    expected = torch.tensor([[0.1, -0.1, 0.0], [0.1, 0.1, -0.1]])
    assert torch.allclose(model[0].weight.grad, expected, atol=1e-7)


def test_bf16_autocast_on_cpu_keeps_masks_exact_and_loss_finite():
    # No GPU reaches CI: Accelerate's bf16 autocast runs on the CPU too.
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        accelerator = Accelerator(mixed_precision="bf16", cpu=True)
        model = fresh()
        pruner = Pruner(model)
        pruner.prune(0.5)
        result = finetune.train(
            model, stream(), cfg(6), 32, hooks=pruner, progress=False, accelerator=accelerator
        )
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in result.history)
    for row in pruner.report()[:-1]:
        assert row["total"] - row["nonzero"] == round(0.5 * row["total"]), row["name"]
    for name, weight in pruner.weights.items():
        assert (weight[~pruner.masks[name]] == 0).all(), name


def test_iterative_is_one_continuous_run_with_one_optimizer():
    from pruning_lib.training.recipes import iterative, round_steps

    calls = []
    real_train = finetune.train

    def counting_train(*args, **kwargs):
        calls.append(args)
        return real_train(*args, **kwargs)

    import pruning_lib.training.recipes as recipes

    recipes.train, saved = counting_train, recipes.train
    try:
        result = iterative(fresh(), stream(), cfg(10), 32, sparsity=0.5, iterations=3)
    finally:
        recipes.train = saved
    assert len(calls) == 1  # one loop: one optimizer, one learning-rate schedule, one stream
    assert [t["step"] for t in result.trace] == round_steps(10, 3) == [0, 4, 7]
    rates = [t["sparsity"] for t in result.trace]
    assert rates[0] == pytest.approx(result.rate, abs=0.01)
    assert rates[1] == pytest.approx(1 - (1 - result.rate) ** 2, abs=0.01)
    assert result.pruner.sparsity() == pytest.approx(0.5, abs=1e-3)
    assert result.training.steps == 10
