"""Sparse training: SET drops the smallest kept weights, regrows as many, keeps each count."""

import pytest
import torch
from torch import nn

from pruning_lib.config import TrainConfig
from pruning_lib.hooks import HookList
from pruning_lib.prune import Pruner
from pruning_lib.sparse_training import SparseEvolution, random_mask
from pruning_lib.study.model import small_gpt
from pruning_lib.training import finetune
from tests.conftest import TINY_MODEL
from tests.test_finetune import _stream


def test_one_update_by_hand():
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.1, -0.5, 0.7, 0.3], [0.2, 0.05, -0.9, 0.4]]))
    pruner = Pruner(nn.Sequential(layer))
    pruned_before = torch.tensor([[False, False, True, False], [False, False, False, True]])
    pruner.replace({"0.weight": ~pruned_before})
    assert layer.weight[0, 2].item() == 0 and layer.weight[1, 3].item() == 0
    # Six kept; a third of them (2) go: the two smallest kept magnitudes, 0.1 and 0.05 (the
    # zeros at the pruned places do not count). Two come back: the two pruned places.
    moved = SparseEvolution(pruner, fraction=1 / 3).update()
    assert moved == 2
    expected = torch.tensor([[False, True, True, True], [True, False, True, True]])
    assert torch.equal(pruner.masks["0.weight"], expected)
    assert layer.weight[0, 0].item() == 0 and layer.weight[1, 1].item() == 0  # dropped
    assert layer.weight[0, 2].item() == 0 and layer.weight[1, 3].item() == 0  # grown at zero
    assert int(pruner.masks["0.weight"].sum()) == 6


def test_random_mask_is_exact_per_layer_and_seeded():
    def masks(seed):
        torch.manual_seed(0)
        pruner = random_mask(nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 7)), 0.6, seed=seed)
        return pruner

    a, b, c = masks(0), masks(0), masks(1)
    for name, mask in a.masks.items():
        assert int((~mask).sum()) == round(0.6 * mask.numel())
        assert torch.equal(mask, b.masks[name])
    assert any(not torch.equal(m, c.masks[n]) for n, m in a.masks.items())
    assert a.sparsity() == pytest.approx(round(0.6 * 200) / 340 + round(0.6 * 140) / 340)


def test_set_training_moves_the_mask_and_keeps_every_layers_count():
    torch.manual_seed(0)
    model = small_gpt(TINY_MODEL, vocab_size=400)
    pruner = random_mask(model, 0.7, seed=0)
    start = {name: mask.clone() for name, mask in pruner.masks.items()}
    counts = {name: int(mask.sum()) for name, mask in start.items()}
    evolution = SparseEvolution(pruner, every=5, fraction=0.2, end_step=15, seed=0)
    config = TrainConfig(steps=20, batch_size=4, warmup_steps=2, log_every=5, seed=0)
    finetune.train(model, _stream(), config, 32, hooks=HookList(pruner, evolution), progress=False)
    assert [entry["step"] for entry in evolution.moved] == [5, 10, 15]
    for name, mask in pruner.masks.items():
        assert int(mask.sum()) == counts[name], name
        assert not torch.equal(mask, start[name]), name
        assert not bool(pruner.weights[name][~mask].any()), name  # the pruned stay zero
    total = sum(mask.numel() for mask in start.values())
    assert pruner.sparsity() >= 1 - sum(counts.values()) / total  # the pruned are zero


@pytest.mark.parametrize(
    "kwargs, words",
    [({"every": 0}, "every"), ({"fraction": 1.0}, "fraction"), ({"end_step": -1}, "end_step")],
)
def test_bad_values_are_refused_by_name(kwargs, words):
    pruner = random_mask(nn.Linear(4, 4), 0.5)
    with pytest.raises(ValueError, match=words):
        SparseEvolution(pruner, **kwargs)


def test_weights_without_a_mask_are_refused():
    with pytest.raises(ValueError, match="needs a mask"):
        SparseEvolution(Pruner(nn.Linear(4, 4)))


def test_a_regrown_weight_starts_with_fresh_optimizer_moments():
    """RigL's rule: a weight that comes back has no Adam history (a weight dropped earlier
    would otherwise return with its old second moment); every other moment is untouched."""
    torch.manual_seed(0)
    layer = nn.Linear(6, 4, bias=False)
    pruner = random_mask(nn.Sequential(layer), 0.5, seed=0)
    optimizer = torch.optim.AdamW(layer.parameters(), lr=0.1)
    for _ in range(3):  # moments everywhere: the gradients are not masked here
        layer(torch.randn(5, 6)).pow(2).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        pruner.apply()
    evolution = SparseEvolution(pruner, fraction=0.5, seed=0)
    evolution.bind(optimizer)
    before = pruner.masks["0.weight"].clone()
    state = {key: value.clone() for key, value in optimizer.state[layer.weight].items()}
    evolution.update()
    grown = pruner.masks["0.weight"] & ~before
    assert int(grown.sum()) == 6  # half of the 12 kept
    for key in ("exp_avg", "exp_avg_sq"):
        now = optimizer.state[layer.weight][key]
        assert torch.all(now[grown] == 0) and torch.all(state[key][grown] != 0)
        assert torch.equal(now[~grown], state[key][~grown])
    assert torch.equal(optimizer.state[layer.weight]["step"], state["step"])
