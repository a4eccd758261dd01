import pytest
import torch

from pruning_lib.config import TrainConfig
from pruning_lib.hooks import HookList, TrainHooks
from pruning_lib.study.model import small_gpt
from pruning_lib.training import finetune
from tests.conftest import TINY_MODEL


def _stream():
    g = torch.Generator().manual_seed(0)
    # A learnable stream: a repeating pattern with some noise.
    base = torch.arange(200) % 17 + 1
    noise = torch.randint(1, 300, (200,), generator=g)
    return torch.where(torch.rand(200, generator=g) < 0.1, noise, base).repeat(5)


def _train(steps=20, seed=0, hooks=None, **kw):
    torch.manual_seed(seed)
    model = small_gpt(TINY_MODEL, vocab_size=400)
    cfg = TrainConfig(steps=steps, batch_size=4, warmup_steps=2, log_every=5, seed=seed, **kw)
    result = finetune.train(model, _stream(), cfg, block_size=32, hooks=hooks, progress=False)
    return model, result


def test_loss_falls_and_history_is_recorded():
    _, result = _train(steps=40)
    losses = [h["loss"] for h in result.history]
    assert [h["step"] for h in result.history] == [5, 10, 15, 20, 25, 30, 35, 40]
    assert losses[-1] < 0.6 * losses[0]
    assert result.tokens == 40 * 4 * 32


def test_same_seed_same_weights():
    a, ra = _train(seed=3)
    b, rb = _train(seed=3)
    assert ra.history == rb.history
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def test_gradient_accumulation_runs_and_counts_tokens():
    _, result = _train(steps=4, grad_accum_steps=3)
    assert result.tokens == 4 * 3 * 4 * 32


def test_hooks_called_in_order():
    calls = []

    class Spy(TrainHooks):
        def penalty(self, model):
            calls.append("penalty")
            return torch.zeros(())

        def before_step(self, step):
            calls.append(("before", step))

        def after_backward(self, model):
            assert any(p.grad is not None for p in model.parameters())
            calls.append("backward")

        def after_step(self, step):
            calls.append(("after", step))

    _train(steps=2, hooks=HookList(Spy()))
    assert calls == [
        ("before", 0),
        "penalty",
        "backward",
        ("after", 0),
        ("before", 1),
        "penalty",
        "backward",
        ("after", 1),
    ]


def test_lr_schedule_warmup_then_cosine_floor():
    cfg = TrainConfig(steps=100, warmup_steps=10, learning_rate=1.0, min_lr_ratio=0.1)
    assert finetune.lr_at(0, cfg) == pytest.approx(0.1)
    assert finetune.lr_at(9, cfg) == pytest.approx(1.0)
    assert finetune.lr_at(10, cfg) == pytest.approx(1.0)
    assert finetune.lr_at(55, cfg) == pytest.approx(0.55)
    assert finetune.lr_at(100, cfg) == pytest.approx(0.1)


def test_bad_train_config_refused_before_work():
    model = small_gpt(TINY_MODEL, vocab_size=400)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="train.batch_size=0"):
        finetune.train(model, _stream(), TrainConfig(batch_size=0), block_size=32)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
