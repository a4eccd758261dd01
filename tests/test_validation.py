"""Every public number refuses NaN, infinities and out-of-range values before any work."""

import math

import pytest
import torch
from torch import nn

from pruning_lib import Pruner, Schedule, rate_to_sparsity, sparsity_to_rate, threshold_mask
from pruning_lib.checks import check_number
from pruning_lib.efficiency import measure_latency
from pruning_lib.regularization import L1Penalty
from pruning_lib.selection import std_threshold, step_rate

NAN, INF = float("nan"), float("inf")


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))


CALLS = [
    ("threshold", lambda: Pruner(model()).prune_threshold(threshold=NAN)),
    ("threshold", lambda: Pruner(model()).prune_threshold(threshold=INF)),
    ("q", lambda: Pruner(model()).prune_threshold(q=NAN)),
    ("q", lambda: Pruner(model()).prune_threshold(q=-INF)),
    ("amount", lambda: Pruner(model()).prune(NAN)),
    ("amount", lambda: Pruner(model()).prune(NAN, of="remaining")),
    ("threshold", lambda: threshold_mask(torch.ones(2), NAN)),
    ("q", lambda: std_threshold(torch.ones(2), NAN)),
    ("lam", lambda: L1Penalty(model(), NAN)),
    ("lam", lambda: L1Penalty(model(), INF)),
    ("lam", lambda: L1Penalty(model(), -1.0)),
    ("iterations", lambda: sparsity_to_rate(0.5, NAN)),
    ("iterations", lambda: sparsity_to_rate(0.5, 2.5)),
    ("iterations", lambda: rate_to_sparsity(0.1, -1)),
    ("rate", lambda: rate_to_sparsity(NAN, 2)),
    ("target_sparsity", lambda: step_rate(0.5, 0.2)),
    ("previous_sparsity", lambda: step_rate(NAN, 0.2)),
    ("target_sparsity", lambda: Schedule("cubic", 0.0, NAN)),
    ("power", lambda: Schedule("polynomial", power=INF)),
    ("repeats", lambda: measure_latency(model(), torch.zeros(1, 4), repeats=0)),
]


@pytest.mark.parametrize("name, call", CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_bad_numbers_name_the_parameter_and_range(name, call):
    with pytest.raises(ValueError) as error:
        call()
    assert f"{name}=" in str(error.value) and "allowed" in str(error.value)


def test_a_refused_number_leaves_the_model_and_masks_untouched():
    m = model()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    pruner = Pruner(m)
    pruner.prune(0.25)
    masks = {k: v.clone() for k, v in pruner.masks.items()}
    pruned = {k: v.clone() for k, v in m.state_dict().items()}
    for call in (
        lambda: pruner.prune_threshold(threshold=NAN),
        lambda: pruner.prune(NAN, of="remaining"),
    ):
        with pytest.raises(ValueError):
            call()
    assert all(torch.equal(masks[k], v) for k, v in pruner.masks.items())
    assert all(torch.equal(pruned[k], v) for k, v in m.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in m.state_dict().items())


@pytest.mark.parametrize("value", [NAN, INF, -INF, True, "1", None])
def test_check_number_refuses_non_finite_and_non_numbers(value):
    with pytest.raises(ValueError, match="x="):
        check_number("x", value, 0)


def test_check_number_bounds_and_integers():
    assert check_number("x", 0, 0, 1, high_open=True) == 0
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        check_number("x", 1, 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"\(0, inf\)"):
        check_number("x", 0, 0, low_open=True)
    with pytest.raises(ValueError, match="integer"):
        check_number("n", 3.0, 1, integer=True)
    assert math.isclose(check_number("x", 1e300, 0), 1e300)
