"""Distillation: the KL term by hand, its gradient by formula, masks held, the teacher won."""

import copy

import pytest
import torch

from pruning_lib.config import TrainConfig
from pruning_lib.distill import Distillation, distillation_loss
from pruning_lib.hooks import HookList, TrainHooks
from pruning_lib.prune import Pruner
from pruning_lib.study.model import small_gpt
from pruning_lib.training import finetune
from tests.conftest import TINY_MODEL
from tests.test_finetune import _stream


def test_the_loss_is_t_squared_times_the_kl_by_hand():
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(2, 5, 7, generator=g), torch.randn(2, 5, 7, generator=g)
    for t in (1.0, 2.0, 4.0):
        p_teacher = torch.exp(teacher / t) / torch.exp(teacher / t).sum(-1, keepdim=True)
        p_student = torch.exp(student / t) / torch.exp(student / t).sum(-1, keepdim=True)
        kl = (p_teacher * (p_teacher.log() - p_student.log())).sum(-1)  # per token
        expected = t**2 * kl.mean()
        assert float(distillation_loss(student, teacher, t)) == pytest.approx(
            float(expected), rel=1e-5
        )


def test_its_gradient_is_t_times_the_difference_of_the_distributions():
    g = torch.Generator().manual_seed(1)
    student = torch.randn(3, 4, 6, generator=g).requires_grad_()
    teacher = torch.randn(3, 4, 6, generator=g)
    t = 3.0
    distillation_loss(student, teacher, t).backward()
    expected = t * (torch.softmax(student.detach() / t, -1) - torch.softmax(teacher / t, -1)) / 12
    assert torch.allclose(student.grad, expected, atol=1e-6)
    same = teacher.clone().requires_grad_()
    loss = distillation_loss(same, teacher, t)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert float(same.grad.abs().max()) < 1e-7


def test_bad_values_are_refused_by_name():
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(torch.zeros(2, 3), torch.zeros(2, 3), 0.0)
    with pytest.raises(ValueError, match="same shape"):
        distillation_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="alpha"):
        Distillation(model, alpha=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        Distillation(model, temperature=-2.0)


def _model():
    torch.manual_seed(0)
    return small_gpt(TINY_MODEL, vocab_size=400)


def _config(steps=30):
    return TrainConfig(
        steps=steps, batch_size=4, warmup_steps=2, log_every=5, seed=0, learning_rate=3e-3
    )


def _kl_to(teacher, student, batch) -> float:
    with torch.no_grad():
        return float(
            distillation_loss(student(input_ids=batch).logits, teacher(input_ids=batch).logits, 1.0)
        )


def test_a_batch_penalty_of_zero_changes_nothing_and_sees_the_batch_and_logits():
    seen = []

    class Zero(TrainHooks):
        def batch_penalty(self, input_ids, logits):
            seen.append((tuple(input_ids.shape), tuple(logits.shape)))
            return 0.0 * logits.sum()

    plain, with_hook = _model(), _model()
    finetune.train(plain, _stream(), _config(5), 32, progress=False)
    finetune.train(with_hook, _stream(), _config(5), 32, hooks=Zero(), progress=False)
    assert seen == [((4, 32), (4, 32, 400))] * 5
    for (name, a), (_, b) in zip(plain.state_dict().items(), with_hook.state_dict().items()):
        assert torch.equal(a, b), name


def test_distilled_fine_tuning_holds_the_masks_and_comes_closer_to_the_teacher():
    dense = _model()
    finetune.train(
        dense, _stream(), _config(40), 32, progress=False
    )  # a teacher that knows something
    held_out = _stream()[:256].reshape(8, 32)
    results = {}
    for name in ("plain", "distilled"):
        student = copy.deepcopy(dense)
        pruner = Pruner(student)
        pruner.prune(0.7)
        hooks = HookList(pruner, Distillation(dense, alpha=5.0) if name == "distilled" else None)
        finetune.train(student, _stream(), _config(30), 32, hooks=hooks, progress=False)
        for weight_name, weight in pruner.weights.items():
            assert not bool(weight[~pruner.masks[weight_name]].any()), weight_name  # held
        results[name] = _kl_to(dense, student, held_out)
    assert results["distilled"] < results["plain"]
