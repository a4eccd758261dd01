"""Patterns of the selection: N:M and whole units, held through fine-tuning."""

import pytest
import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

from pruning_lib import NM, Pruner, RowWise, Units
from pruning_lib.config import TrainConfig
from pruning_lib.training import finetune


def gpt2():
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_positions=32, n_embd=16, n_layer=2, n_head=2)
    return GPT2LMHeadModel(config)


def groups_along_inputs(weight: torch.Tensor, input_axis: int, m: int) -> torch.Tensor:
    rows = weight.t() if input_axis == 0 else weight  # (out, in)
    return rows.reshape(rows.shape[0], -1, m)


def assert_pattern_holds(pruner, n, m):
    for name, weight in pruner.weights.items():
        nonzero = (groups_along_inputs(weight.detach(), pruner.input_axes[name], m) != 0).sum(-1)
        assert int(nonzero.max()) <= n, name
        kept = groups_along_inputs(pruner.masks[name], pruner.input_axes[name], m).sum(-1)
        assert bool((kept == n).all()), name  # from a dense start: exactly n in every group


@pytest.mark.parametrize("n, m", [(2, 4), (4, 8), (1, 4)])
def test_nm_holds_in_every_group_before_and_after_finetuning(n, m):
    model = gpt2()
    pruner = Pruner(model)
    assert set(pruner.input_axes.values()) == {0}  # GPT-2's Conv1D stores (in, out)
    assert pruner.prune_pattern(NM(n, m)) == pytest.approx(1 - n / m)
    assert_pattern_holds(pruner, n, m)
    stream = torch.randint(0, 64, (2000,), generator=torch.Generator().manual_seed(0))
    config = TrainConfig(steps=5, batch_size=2, learning_rate=1e-2, warmup_steps=0, log_every=5)
    finetune.train(model, stream, config, 16, hooks=pruner, device="cpu", progress=False)
    assert_pattern_holds(pruner, n, m)


def test_nm_keeps_the_highest_scores_of_each_group_by_hand():
    layer = nn.Linear(8, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1, -5, 2, 0.5, 3, 3, -3, 1], [0, 0, 0, 0, 1, 2, 3, 4.0]]))
    pruner = Pruner(nn.Sequential(layer))
    pruner.prune_pattern(NM(2, 4))
    # Ties keep the first: |3| at 4, 5 and 6 -> inputs 4 and 5; zeros: the first two kept.
    assert pruner.masks["0.weight"].int().tolist() == [
        [0, 1, 1, 0, 1, 1, 0, 0],
        [1, 1, 0, 0, 0, 0, 1, 1],
    ]


def test_nm_on_top_of_earlier_pruning_never_revives_a_weight():
    pruner = Pruner(gpt2())
    pruner.prune(0.7)
    before = {k: v.clone() for k, v in pruner.masks.items()}
    pruner.prune_pattern(NM(2, 4))
    for name, mask in pruner.masks.items():
        assert not (mask & ~before[name]).any()
        kept = groups_along_inputs(mask, pruner.input_axes[name], 4).sum(-1)
        assert int(kept.max()) <= 2


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: NM(4, 4), ["n=4", "[1, 3]"]),
        (lambda: NM(0, 4), ["n=0"]),
        (lambda: NM(2, 1), ["m=1"]),
        (lambda: Units(1.0), ["fraction=1.0"]),
        (lambda: Units(0.5, "heads"), ["axis='heads'"]),
    ],
)
def test_bad_patterns_are_refused(build, words):
    with pytest.raises(ValueError) as error:
        build()
    for word in words:
        assert word in str(error.value)


def test_m_that_does_not_divide_an_input_dimension_is_refused_before_any_work():
    model = nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 6), nn.Linear(6, 2))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    pruner = Pruner(model)
    with pytest.raises(ValueError, match="2.weight has 6 inputs"):
        pruner.prune_pattern(NM(2, 4))
    assert pruner.masks == {}
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_units_prune_whole_neurons_by_their_summed_score():
    layer = nn.Linear(3, 4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 1, 1], [0.1, 0.1, 0.1], [2, 0, 0], [0, 0.2, 0]]))
    pruner = Pruner(nn.Sequential(layer))
    pruner.prune_pattern(Units(0.5, "output"))  # row sums 3, 0.3, 2, 0.2: rows 1 and 3 go
    assert pruner.masks["0.weight"].all(1).tolist() == [True, False, True, False]
    gpt = Pruner(gpt2())
    gpt.prune_pattern(Units(0.25, "input"))
    for name, mask in gpt.masks.items():
        columns = (mask.t() if gpt.input_axes[name] == 0 else mask).all(0)
        dropped = (mask.t() if gpt.input_axes[name] == 0 else mask).any(0)
        assert torch.equal(columns, dropped)  # every input column kept or pruned whole
        assert int((~columns).sum()) == round(0.25 * columns.numel())


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: NM(2, 1025), ["m=1025", "[2, 1024]"]),
        (lambda: NM(2.0, 4), ["n=2.0", "integer"]),
        (lambda: NM(2, 4.0), ["m=4.0", "integer"]),
        (lambda: NM(1, 2), None),
        (lambda: RowWise(1.0), ["sparsity=1.0"]),
    ],
)
def test_pattern_arguments_at_their_bounds(build, words):
    if words is None:
        assert build().sparsity == 0.5
        return
    with pytest.raises(ValueError) as error:
        build()
    for word in words:
        assert word in str(error.value)


def test_patterns_refuse_non_matrices_and_bad_scores():
    scores = {"w": torch.ones(2, 2, 4)}
    with pytest.raises(ValueError, match=r"w: N:M applies to 2-D weights, not shape \(2, 2, 4\)"):
        NM(2, 4).masks(scores)
    with pytest.raises(ValueError, match=r"w: a pattern applies to 2-D weights, not shape"):
        RowWise(0.5).masks(scores)
    with pytest.raises(ValueError, match="score of w must be finite and non-negative"):
        Units(0.5).masks({"w": torch.tensor([[1.0, -1.0]])})
    with pytest.raises(ValueError, match="score of w must be finite and non-negative"):
        NM(1, 2).masks({"w": torch.tensor([[1.0, float("nan")]])})


def test_units_and_row_wise_respect_earlier_masks():
    scores = {"w": torch.tensor([[5.0, 4.0, 3.0, 2.0], [9.0, 8.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])}
    old = {"w": torch.tensor([[False, True, True, True], [True] * 4, [True] * 4])}
    units = Units(1 / 3).masks(scores, old)["w"]
    assert units.int().tolist() == [[0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]]
    rows = RowWise(0.5).masks(scores, old)["w"]
    assert rows.int().tolist() == [[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]]
    # A Conv1D layer stores (in, out): the Pruner hands the pattern its rows all the same.
    from transformers.pytorch_utils import Conv1D

    conv = Conv1D(3, 4)  # 4 inputs, 3 outputs: weight (4, 3)
    with torch.no_grad():
        conv.weight.copy_(scores["w"].t())
    pruner = Pruner(nn.Sequential(conv))
    pruner.masks = {"0.weight": old["w"].t().clone()}
    pruner.prune_pattern(RowWise(0.5))
    assert torch.equal(pruner.masks["0.weight"], rows.t())
    columns = Units(0.25, "input").masks(scores, old)["w"]
    assert columns.int().tolist() == [[0, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0]]


def test_prune_pattern_uses_scores_and_keeps_earlier_masks():
    layer = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[4.0, 3.0, 2.0, 1.0]]))
    pruner = Pruner(nn.Sequential(layer))
    pruner.prune(0.25)  # the 1.0 goes
    pruner.prune_pattern(NM(2, 4), {"0.weight": torch.tensor([[0.0, 1.0, 2.0, 3.0]])})
    assert pruner.masks["0.weight"].int().tolist() == [[0, 1, 1, 0]]


def test_patterns_alone_never_revive_and_count_whole_pruned_units():
    # Called directly (no Pruner and-ing masks), a pattern must keep earlier pruning.
    scores = {"w": torch.tensor([[0.1, 0.2, 0.3, 0.4]])}
    old = {"w": torch.tensor([[True, True, False, False]])}
    assert NM(2, 4).masks(scores, old)["w"].int().tolist() == [[1, 1, 0, 0]]
    assert RowWise(0.25).masks(scores, old)["w"].int().tolist() == [[1, 1, 0, 0]]
    # A live weight whose score is exactly 0 is not "already pruned".
    zeros = {"w": torch.tensor([[0.0, 0.0, 2.0, 3.0]])}
    assert RowWise(0.25).masks(zeros)["w"].int().tolist() == [[0, 1, 1, 1]]
    # A unit pruned in full earlier counts toward the fraction: nothing more goes.
    rows = {"w": torch.tensor([[5.0, 5.0], [1.0, 1.0], [3.0, 3.0]])}
    gone = {"w": torch.tensor([[True, True], [True, True], [False, False]])}
    kept = Units(1 / 3).masks(rows, gone)["w"]
    assert kept.int().tolist() == [[1, 1], [1, 1], [0, 0]]
