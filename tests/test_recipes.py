"""The one-shot recipe: each score and each pattern against masks built by hand."""

import pytest
import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from pruning_lib.scores import random_scores
from pruning_lib.training.recipes import oneshot


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 8), nn.ReLU(), Conv1D(4, 8))  # Conv1D: weight (8, 4)


def rows(weight, conv):
    return weight.detach().t() if conv else weight.detach()  # as (out, in)


def top(score, k, dim):
    kept = torch.zeros_like(score, dtype=torch.bool)
    kept.scatter_(dim, score.topk(k, dim=dim).indices, True)
    return kept


CALIBRATION = [torch.randn(5, 8, generator=torch.Generator().manual_seed(1))]


def test_magnitude_unstructured_keeps_the_largest_of_each_layer():
    m = model()
    pruner = oneshot(m, 0.5)
    for name, weight in pruner.weights.items():
        flat = weight.detach().abs().flatten()
        assert torch.equal(pruner.masks[name].flatten(), top(flat, flat.numel() // 2, 0))


def test_two_four_keeps_two_of_every_four_inputs_by_magnitude():
    m = model()
    pruner = oneshot(m, 0.5, pattern="2:4")
    for name, weight in pruner.weights.items():
        conv = name.startswith("2.")
        score = rows(weight, conv).abs()
        groups = score.reshape(score.shape[0], -1, 4)
        expected = top(groups, 2, 2).reshape(score.shape)
        assert torch.equal(rows(pruner.masks[name], conv), expected), name
    with pytest.raises(ValueError, match=r"sparsity=0.3 does not fit pattern='2:4'; allowed: 0.5"):
        oneshot(model(), 0.3, pattern="2:4")


def test_wanda_keeps_the_top_half_of_each_row_of_weight_times_input_norm():
    m = model()
    with torch.no_grad():
        hidden = torch.relu(m[0](CALIBRATION[0]))
    norms = {"0.weight": CALIBRATION[0].norm(dim=0), "2.weight": hidden.norm(dim=0)}
    pruner = oneshot(m, 0.5, score="wanda", calibration=CALIBRATION)
    for name, weight in pruner.weights.items():
        conv = name.startswith("2.")
        score = rows(weight, conv).abs() * norms[name][None, :]
        expected = top(score, score.shape[1] // 2, 1)
        assert torch.equal(rows(pruner.masks[name], conv), expected), name
    with pytest.raises(ValueError, match="score='wanda' needs calibration"):
        oneshot(model(), 0.5, score="wanda")


def test_random_scores_follow_their_seed_and_differ_from_magnitude():
    m = model()
    pruner = oneshot(m, 0.5, score="random", seed=3)
    scores = random_scores(pruner.weights, seed=3)
    for name in pruner.masks:
        flat = scores[name].flatten()
        assert torch.equal(pruner.masks[name].flatten(), top(flat, flat.numel() // 2, 0))
    magnitude = oneshot(model(), 0.5).masks
    assert any(not torch.equal(pruner.masks[n], magnitude[n]) for n in magnitude)


def test_scope_global_and_scores_of_your_own():
    m = model()
    pruner = oneshot(m, 0.5, scope="global")
    every = torch.cat([w.detach().abs().flatten() for w in pruner.weights.values()])
    assert torch.equal(
        torch.cat([k.flatten() for k in pruner.masks.values()]), top(every, every.numel() // 2, 0)
    )
    own = {name: torch.ones_like(w) for name, w in pruner.weights.items()}  # all tie: first go
    tied = oneshot(model(), 0.25, score=own)
    assert all(not bool(mask.flatten()[: mask.numel() // 4].any()) for mask in tied.masks.values())
    for bad, words in (
        ({"scope": "global", "pattern": "2:4"}, "scope='global' is for unstructured"),
        ({"scope": "global", "score": "wanda", "calibration": CALIBRATION}, "scope='global'"),
        ({"score": "obs"}, "score='obs' is not allowed; choose one of"),
        ({"pattern": "2-4"}, "pattern='2-4' is not allowed"),
    ):
        with pytest.raises(ValueError, match=words):
            oneshot(model(), 0.5, **bad)
