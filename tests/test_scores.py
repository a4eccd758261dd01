"""Activation-aware (Wanda) and random scores against hand computations."""

import pytest
import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.pytorch_utils import Conv1D

from pruning_lib import NM, Pruner, RowWise
from pruning_lib.scores import calibration_batches, input_norms, random_scores, wanda_scores


def test_wanda_is_magnitude_times_input_norm_per_feature():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    batches = [torch.randn(5, 3), torch.randn(2, 3)]
    pruner = Pruner(model)
    norms = input_norms(pruner, model, batches)
    x = torch.cat(batches)
    hidden = torch.relu(model[0](x)).detach()
    assert torch.allclose(norms["0.weight"], x.pow(2).sum(0).sqrt())
    assert torch.allclose(norms["2.weight"], hidden.pow(2).sum(0).sqrt(), atol=1e-6)
    scores = wanda_scores(pruner, norms)
    expected = model[0].weight.detach().abs() * x.pow(2).sum(0).sqrt()[None, :]
    assert torch.allclose(scores["0.weight"], expected)


def test_conv1d_scores_follow_its_input_axis():
    # GPT-2's Conv1D stores (in, out); its scores must equal those of the same nn.Linear.
    torch.manual_seed(1)
    conv = Conv1D(4, 3)  # nf=4 outputs, nx=3 inputs: weight (3, 4)
    linear = nn.Linear(3, 4)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.t())
        linear.bias.copy_(conv.bias)
    batches = [torch.randn(6, 3)]
    scores = {}
    for layer in (conv, linear):
        model = nn.Sequential(layer)
        pruner = Pruner(model)
        scores[type(layer).__name__] = wanda_scores(pruner, input_norms(pruner, model, batches))
    assert torch.allclose(scores["Conv1D"]["0.weight"].t(), scores["Linear"]["0.weight"])


def test_wanda_with_row_wise_and_nm_patterns_on_gpt2():
    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=64, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    )
    stream = torch.randint(0, 64, (500,), generator=torch.Generator().manual_seed(0))
    pruner = Pruner(model)
    scores = wanda_scores(pruner, input_norms(pruner, model, calibration_batches(stream, 4, 16)))
    pruner.prune_pattern(RowWise(0.5), scores)
    for name, mask in pruner.masks.items():
        rows = mask.t() if pruner.input_axes[name] == 0 else mask
        assert bool((rows.sum(1) == rows.shape[1] // 2).all()), name
    again = Pruner(
        GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=32, n_embd=16, n_layer=1, n_head=2))
    )
    assert again.prune_pattern(NM(2, 4), random_scores(again.weights)) == pytest.approx(0.5)


def test_random_scores_are_seeded_and_bad_calibration_is_refused():
    weights = {"w": torch.zeros(3, 4)}
    assert torch.equal(random_scores(weights, 3)["w"], random_scores(weights, 3)["w"])
    assert not torch.equal(random_scores(weights, 3)["w"], random_scores(weights, 4)["w"])
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="calibration data is empty"):
        input_norms(Pruner(model), model, [])
    with pytest.raises(ValueError, match="sequences=0"):
        calibration_batches(torch.arange(100), 0, 8)
    with pytest.raises(ValueError, match="fewer than block_size=9"):
        calibration_batches(torch.arange(8), 2, 9)


def test_row_wise_never_revives_and_counts_earlier_pruning():
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]]))
    pruner = Pruner(nn.Sequential(layer))
    pruner.prune_pattern(RowWise(0.25))
    assert pruner.masks["0.weight"].int().tolist() == [[1, 1, 1, 0], [0, 1, 1, 1]]
    pruner.prune_pattern(RowWise(0.5))
    assert pruner.masks["0.weight"].int().tolist() == [[1, 1, 0, 0], [0, 0, 1, 1]]


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: calibration_batches(torch.arange(100), 2, 8, batch_size=0), ["batch_size=0"]),
        (lambda: calibration_batches(torch.arange(100), 2, 8, batch_size=1.0), ["batch_size=1.0"]),
        (lambda: calibration_batches(torch.arange(100), 2, 0), ["block_size=0"]),
        (lambda: calibration_batches(torch.arange(100), 2, 8.0), ["block_size=8.0"]),
        (lambda: calibration_batches(torch.arange(100), 2.0, 8), ["sequences=2.0"]),
        (lambda: random_scores({"w": torch.ones(2)}, -1), ["seed=-1"]),
        (lambda: random_scores({"w": torch.ones(2)}, 2**63), ["seed="]),
        (lambda: random_scores({"w": torch.ones(2)}, 1.0), ["seed=1.0"]),
    ],
)
def test_bad_calibration_and_seed_arguments(call, words):
    with pytest.raises(ValueError) as error:
        call()
    for word in words:
        assert word in str(error.value)


def test_calibration_batches_are_seeded_windows_of_the_stream():
    stream = torch.arange(1000)
    batches = calibration_batches(stream, 5, 16, batch_size=2, seed=3)
    assert [b.shape for b in batches] == [(2, 16), (2, 16), (1, 16)]
    windows = torch.cat(batches)
    assert bool(((windows[:, 1:] - windows[:, :-1]) == 1).all())  # contiguous windows
    assert int(windows.min()) >= 0 and int(windows.max()) <= 999
    again = torch.cat(calibration_batches(stream, 5, 16, batch_size=2, seed=3))
    other = torch.cat(calibration_batches(stream, 5, 16, batch_size=2, seed=4))
    assert torch.equal(windows, again) and not torch.equal(windows, other)
    assert calibration_batches(stream, 3, 8)[0].shape == (3, 8)  # default batch of 8
    assert torch.equal(
        torch.cat(calibration_batches(stream, 3, 8)),
        torch.cat(calibration_batches(stream, 3, 8, 8, 0)),
    )
    assert torch.equal(
        random_scores({"w": torch.ones(3)})["w"], random_scores({"w": torch.ones(3)}, 0)["w"]
    )


def test_wanda_refuses_a_weight_no_calibration_reached():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2))
    pruner = Pruner(model)
    norms = input_norms(pruner, model, [torch.ones(1, 2)])
    del norms["1.weight"]
    with pytest.raises(ValueError, match=r"no calibration input reached 1.weight"):
        wanda_scores(pruner, norms)


def test_calibration_and_seed_at_their_lowest_and_highest():
    stream = torch.arange(10)
    (batch,) = calibration_batches(stream, 1, 1, batch_size=1)
    assert batch.shape == (1, 1) and 0 <= int(batch) <= 8
    windows = torch.cat(calibration_batches(stream, 200, 9))  # only starts 0 and 1 fit
    assert set(windows[:, 0].tolist()) == {0, 1}
    assert torch.equal(torch.cat(calibration_batches(stream, 3, 10)), torch.arange(10).repeat(3, 1))
    assert random_scores({"w": torch.ones(2)}, 2**63 - 1)["w"].shape == (2,)
