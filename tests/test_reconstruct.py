"""Reconstruction after the mask (SparseGPT's idea, the mask held): each row's kept weights
against the least-squares optimum computed independently (``torch.linalg.lstsq`` on the
calibration inputs, row by row), and on every layer of a GPT-2 model the output error below
that of the mask alone."""

import pytest
import torch
from torch import nn

from pruning_lib.patterns import NM
from pruning_lib.prune import Pruner
from pruning_lib.reconstruct import layer_inputs_gram, reconstruct, reconstruct_rows


def _lstsq_rows(x: torch.Tensor, weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row by row: min ||x[:, K] w_K - x w||, by torch's least-squares solver."""
    out = torch.zeros_like(weight)
    for row in range(weight.shape[0]):
        kept = mask[row].nonzero().flatten()
        target = x @ weight[row]
        out[row, kept] = torch.linalg.lstsq(x[:, kept], target[:, None]).solution.flatten()
    return out


@pytest.mark.parametrize("pattern", ["magnitude", "2:4", "random"])
def test_each_row_reaches_the_least_squares_optimum(pattern):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 16, generator=generator, dtype=torch.float64)
    # Correlated inputs (what reconstruction uses), still of full rank: one optimum.
    x[:, 3] = x[:, 1] * 0.5 + 0.1 * x[:, 2] + 0.3 * x[:, 3]
    weight = torch.randn(8, 16, generator=generator, dtype=torch.float64)
    if pattern == "magnitude":
        mask = weight.abs() > weight.abs().flatten().kthvalue(64).values
    elif pattern == "2:4":
        mask = NM(2, 4).masks({"w": weight.abs()})["w"]
    else:
        mask = torch.rand(8, 16, generator=generator) < 0.5
    ours = reconstruct_rows(weight, mask, x.T @ x)
    assert torch.allclose(ours, _lstsq_rows(x, weight, mask), atol=1e-8, rtol=0)
    assert torch.equal(ours != 0, mask & (ours != 0)) and not ours[~mask].any()
    # The optimum is never worse than keeping the weights as they were (a feasible point).
    for candidate, worse in ((ours, weight * mask),):
        error = ((x @ (candidate - weight).T) ** 2).sum()
        assert error <= ((x @ (worse - weight).T) ** 2).sum()


def test_dampening_shrinks_towards_zero_and_bad_shapes_are_refused():
    x = torch.tensor([[1.0, 2.0], [3.0, 1.0], [0.0, 1.0]])
    w, keep = torch.tensor([[1.0, 1.0]]), torch.tensor([[True, False]])
    # By hand: H = x^T x = [[10, 5], [5, 6]]; lambda = 0.1 * mean(10, 6) = 0.8;
    # w_0 = (H w)_0 / (H_00 + lambda) = 15 / 10.8.
    damped = reconstruct_rows(w, keep, x.T @ x, damp=0.1)
    assert damped[0, 0].item() == pytest.approx(15 / 10.8)
    with pytest.raises(ValueError, match="do not fit"):
        reconstruct_rows(w, keep, torch.eye(3))
    with pytest.raises(ValueError, match="damp"):
        reconstruct_rows(w, keep, x.T @ x, damp=2.0)


def _tiny_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=2)
    return GPT2LMHeadModel(config).eval()


@pytest.mark.parametrize("pattern", [None, "2:4"])
def test_every_layer_of_a_gpt2_model_ends_closer_to_its_dense_outputs(pattern):
    model = _tiny_gpt2()
    generator = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, 64, (4, 16), generator=generator) for _ in range(4)]
    pruner = Pruner(model)
    dense = {name: w.detach().clone() for name, w in pruner.weights.items()}
    if pattern is None:
        pruner.prune(0.5)
    else:
        pruner.prune_pattern(NM(2, 4))
    masks = {name: m.clone() for name, m in pruner.masks.items()}
    rows = reconstruct(pruner, model, batches, dense, damp=0.0)
    assert [r["name"] for r in rows] == list(pruner.masks)  # every weight, in model order
    for row in rows:
        assert row["reconstructed"] < row["masked"], row
    for name, weight in pruner.weights.items():  # the masks hold: zeros stay zeros
        assert not weight.detach()[~masks[name]].any()
    # The first layer's inputs do not depend on any pruned weight: its error is the one
    # the least-squares optimum gives on them, recomputed here by hand.
    first = next(iter(pruner.masks))
    module = model.transformer.h[0].attn.c_attn
    hessian = layer_inputs_gram(model, module, batches)
    weight, keep = dense[first].double().T, masks[first].T
    optimum = reconstruct_rows(weight, keep, hessian)
    delta = optimum - weight
    expected = torch.einsum("oi,ij,oj->", delta, hessian, delta) / torch.einsum(
        "oi,ij,oj->", weight, hessian, weight
    )
    assert rows[0]["reconstructed"] == pytest.approx(float(expected), rel=1e-6)


def test_a_linear_model_is_reconstructed_in_its_own_orientation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 6, bias=False))
    x = torch.randn(50, 12)
    pruner = Pruner(model)
    dense = {name: w.detach().clone() for name, w in pruner.weights.items()}
    pruner.prune(0.5)
    mask = pruner.masks["0.weight"].clone()
    reconstruct(pruner, model, [x], dense, damp=0.0)
    expected = _lstsq_rows(x.double(), dense["0.weight"].double(), mask)
    assert torch.allclose(model[0].weight.double(), expected, atol=1e-5)


def test_refusals_before_any_change():
    model = nn.Sequential(nn.Linear(4, 4))
    pruner = Pruner(model)
    with pytest.raises(ValueError, match="prune first"):
        reconstruct(pruner, model, [torch.randn(3, 4)], {})
    pruner.prune(0.5)
    before = model[0].weight.detach().clone()
    with pytest.raises(ValueError, match="lacks 0.weight"):
        reconstruct(pruner, model, [torch.randn(3, 4)], {})
    with pytest.raises(ValueError, match="calibration data is empty"):
        reconstruct(pruner, model, [], {"0.weight": before})
    assert torch.equal(model[0].weight, before)
