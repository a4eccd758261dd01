"""The proximal L1 step: a soft threshold by hand, exact zeros under AdamW where the plain
penalty gives none."""

import pytest
import torch
from torch import nn

from pruning_lib.regularization import L1Penalty, ProximalL1


def test_soft_threshold_by_hand():
    torch.manual_seed(0)
    layer = nn.Linear(50, 20)
    before = layer.weight.detach().clone()
    ProximalL1(layer, lam=2.0, step_size=0.01).after_step(0)  # a module: its prunable weights
    tau = 0.02
    expected = torch.where(
        before.abs() <= tau, torch.zeros_like(before), before - tau * before.sign()
    )
    assert torch.allclose(layer.weight, expected, atol=1e-7)
    assert int((layer.weight == 0).sum()) == int((before.abs() <= tau).sum()) > 0


def _fit(hook_kind: str, lam: float) -> torch.Tensor:
    """y = x @ w_true with 8 of 32 features used: AdamW with the plain penalty, or plain
    gradient steps with the proximal step (ISTA); returns the learnt weights."""
    torch.manual_seed(0)
    x = torch.randn(512, 32)
    true = torch.zeros(32)
    true[:8] = torch.linspace(1, 2, 8)
    y = x @ true
    layer = nn.Linear(32, 1, bias=False)
    if hook_kind == "ista":
        optimizer = torch.optim.SGD(layer.parameters(), lr=0.01)
    else:
        optimizer = torch.optim.AdamW(layer.parameters(), lr=0.01, weight_decay=0.0)
    weights = {"w": layer.weight}
    hook = L1Penalty(weights, lam) if hook_kind == "plain" else ProximalL1(weights, lam, 0.01)
    if hook_kind == "adam":
        hook.bind(optimizer)
    for step in range(400):
        loss = ((layer(x).squeeze(1) - y) ** 2).mean()
        penalty = hook.penalty(layer)
        if penalty is not None:
            loss = loss + penalty
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        hook.after_step(step)
    return layer.weight.detach().squeeze(0)


@pytest.mark.parametrize("kind", ["ista", "adam"])
def test_proximal_reaches_exact_zeros_where_plain_l1_under_adamw_does_not(kind):
    # The fixed points are the lasso's: unused features at exactly zero.
    plain = _fit("plain", 0.05)
    proximal = _fit(kind, 0.05)
    assert int((plain[8:] == 0).sum()) == 0  # oscillates around zero, never at it
    assert plain[8:].abs().max() < 0.05  # ...though small
    assert int((proximal[8:] == 0).sum()) == 24  # every unused feature exactly zero
    assert bool((proximal[:8] != 0).all())  # the used ones survive


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"lam": -1.0, "step_size": 0.1}, "lam=-1.0"),
        ({"lam": float("nan"), "step_size": 0.1}, "lam=nan"),
        ({"lam": 1.0, "step_size": 0.0}, "step_size=0.0"),
    ],
)
def test_bad_values_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ProximalL1(nn.Linear(2, 2), **kwargs)
