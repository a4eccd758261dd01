"""Tests that pin behaviour of the pruning core that a mutation run found unchecked."""

from pathlib import Path

import pytest
import torch
import torch.nn.utils.prune as torch_prune
from safetensors.torch import save_file
from torch import nn

import pruning_lib
from pruning_lib import NM, Pruner, RowWise, Schedule
from pruning_lib.patterns import parse_pattern
from pruning_lib.regularization import ProximalL1
from pruning_lib.selection import magnitude_masks
from pruning_lib.weights import input_axes, prunable_refs, prunable_weights


def two_layers():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))


def one_row_layer(values):
    layer = nn.Linear(len(values), 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([values]))
    return layer


# -- patterns: ties and parse_pattern ----------------------------------------------------
# Sorting fewer than 17 elements is stable on CPUs even when unstable sorting is asked for,
# so the tie rule ("ties go to the weight that comes first") shows only in wide groups.
TIED_ROWS = torch.tensor([[1.0, 2.0] * 16, [3.0] * 32, [2.0, 1.0, 1.0, 2.0] * 8])


def row_of(*columns, width=32):
    """A mask row of ``width`` with 1 at ``columns``."""
    return [int(c in columns) for c in range(width)]


def test_nm_ties_keep_the_first_weights_of_a_wide_group():
    kept = NM(4, 32).masks({"w": TIED_ROWS})["w"]
    assert kept.int().tolist() == [
        row_of(1, 3, 5, 7),  # the first four 2s
        row_of(0, 1, 2, 3),  # all equal: the first four
        row_of(0, 3, 4, 7),  # the first four 2s
    ]


def test_row_wise_ties_prune_the_first_weights_of_a_wide_row():
    kept = RowWise(0.25).masks({"w": TIED_ROWS})["w"]  # 8 of 32 go in every row
    pruned = (~kept).int().tolist()
    assert pruned == [
        row_of(0, 2, 4, 6, 8, 10, 12, 14),  # the first eight 1s
        row_of(*range(8)),  # all equal: the first eight
        row_of(1, 2, 5, 6, 9, 10, 13, 14),  # the first eight 1s
    ]


def test_parse_pattern_accepts_its_bounds():
    assert parse_pattern("1:4") == NM(1, 4)  # N = 1 is allowed (0 < N)
    assert parse_pattern("2:1024") == NM(2, 1024)  # M = 1024 is allowed (M <= 1024)
    assert parse_pattern("1023:1024") == NM(1023, 1024)


@pytest.mark.parametrize("pattern", ["0:4", "4:4", "5:4", "2:1025", "2-4"])
def test_parse_pattern_refuses_values_just_outside_with_its_own_message(pattern):
    # Refused by parse_pattern itself, naming the pattern, not by NM's later checks of n, m.
    with pytest.raises(ValueError) as error:
        parse_pattern(pattern)
    message = str(error.value)
    assert message.startswith(f"pattern={pattern!r} is not allowed")
    assert "0 < N < M <= 1024" in message and "'2:4'" in message


def test_parse_pattern_refuses_a_non_string_with_a_value_error():
    with pytest.raises(ValueError, match=r"pattern=24 is not allowed.*0 < N < M <= 1024"):
        parse_pattern(24)


# -- the Pruner ---------------------------------------------------------------------------
class Bare(nn.Module):
    """A Linear beside a matrix no rule covers (the Pruner warns about it)."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2)
        self.bare = nn.Parameter(torch.ones(2, 2))


def test_uncovered_warning_never_points_at_a_line_of_the_library():
    # The warning is for the caller: it must not blame the library's own warn() call.
    with pytest.warns(UserWarning, match="1 matrices") as record:
        Pruner(Bare())
    package = Path(pruning_lib.__file__).resolve().parent
    assert package not in Path(record[0].filename).resolve().parents


def test_masks_set_on_a_fresh_pruner_are_applied_to_weights_and_gradients():
    # `masks` is public (tests and callers assign it); no pruning call has run yet.
    layer = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]))
    model = nn.Sequential(layer)
    pruner = Pruner(model)
    mask = torch.tensor([[True, False, True], [False, True, True]])
    pruner.masks = {"0.weight": mask}
    layer.weight.grad = torch.ones(2, 3)
    pruner.after_backward(model)
    assert layer.weight.grad.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    pruner.after_step(0)
    assert layer.weight.tolist() == [[1.0, 0.0, 3.0], [0.0, 5.0, -6.0]]


def test_a_sparsity_on_a_fresh_pruner_treats_zero_weights_as_live_as_torch_does():
    # of="all" counts only masked weights as pruned; a weight that merely is 0 stays live
    # and is chosen by its score, as torch.nn.utils.prune does with importance_scores.
    scores = torch.tensor([[9.0, 9.0, 1.0, 2.0]])
    reference = one_row_layer([0.0, 0.0, 3.0, 4.0])
    torch_prune.l1_unstructured(reference, "weight", amount=0.5, importance_scores=scores)
    pruner = Pruner(nn.Sequential(one_row_layer([0.0, 0.0, 3.0, 4.0])))
    assert pruner.prune(0.5, scores={"0.weight": scores}) == 1.0  # every weight zero now
    assert torch.equal(pruner.masks["0.weight"], reference.weight_mask.bool())  # [1, 1, 0, 0]
    # By magnitude: 6 of 10 weights are 0; a sparsity of 0.2 masks 2, as torch's mask does.
    values = [0.0] * 6 + [1.0, 2.0, 3.0, 4.0]
    reference = one_row_layer(values)
    torch_prune.l1_unstructured(reference, "weight", amount=0.2)
    pruner = Pruner(nn.Sequential(one_row_layer(values)))
    pruner.prune(0.2)
    masked = int((~pruner.masks["0.weight"]).sum())
    assert masked == int((reference.weight_mask == 0).sum()) == 2


def test_load_error_lists_at_most_three_unknown_weights(tmp_path):
    path = tmp_path / "masks.safetensors"
    save_file({name: torch.ones(2, 2, dtype=torch.uint8) for name in "abcd"}, str(path))
    with pytest.raises(ValueError) as error:
        Pruner(two_layers()).load(path)
    assert str(error.value).endswith("has masks for unknown weights ['a', 'b', 'c']")


# -- selection ----------------------------------------------------------------------------
def test_magnitude_masks_names_its_own_sparsity_parameter():
    with pytest.raises(ValueError, match=r"^sparsity=1\.5 is out of range; allowed: \[0, 1\)"):
        magnitude_masks({"w": torch.ones(2)}, 1.5)


# -- the proximal L1 step -----------------------------------------------------------------
def test_proximal_step_size_defaults_to_one():
    layer = one_row_layer([0.5, -0.05, 2.0])
    ProximalL1({"w": layer.weight}, lam=0.1).after_step(0)  # threshold lam * 1.0
    assert torch.allclose(layer.weight, torch.tensor([[0.4, 0.0, 1.9]]))


def test_proximal_step_bound_to_an_optimizer_without_adam_state_uses_lam_times_step_size():
    # Bound to AdamW before its first step (no state yet) and to SGD with momentum (state
    # without a second moment): the plain threshold lam * step_size = 0.05.
    expected = torch.tensor([[0.45, 0.0, 1.95]])
    layer = one_row_layer([0.5, -0.05, 2.0])
    hook = ProximalL1({"w": layer.weight}, lam=0.5, step_size=0.1)
    hook.bind(torch.optim.AdamW([layer.weight], lr=0.1))
    hook.after_step(0)
    assert torch.allclose(layer.weight, expected)
    layer = one_row_layer([0.5, -0.05, 2.0])
    sgd = torch.optim.SGD([layer.weight], lr=0.0, momentum=0.9)  # lr 0: the step moves nothing
    layer.weight.grad = torch.ones(1, 3)
    sgd.step()
    assert "momentum_buffer" in sgd.state[layer.weight]
    hook = ProximalL1({"w": layer.weight}, lam=0.5, step_size=0.1)
    hook.bind(sgd)
    hook.after_step(0)
    assert torch.allclose(layer.weight, expected)


def test_proximal_step_in_adam_after_two_steps_is_lam_times_adams_step_size_by_hand():
    # Weights far from zero, so every threshold shows in the result (none clamps to 0).
    lam, lr, beta2, eps = 0.05, 0.1, 0.95, 1e-8
    layer = one_row_layer([5.0, -4.0, 3.0])
    optimizer = torch.optim.AdamW([layer.weight], lr=lr, betas=(0.9, beta2), eps=eps)
    grads = [torch.tensor([[0.3, -0.2, 0.1]]), torch.tensor([[0.1, 0.4, -0.2]])]
    second_moment = torch.zeros(1, 3)
    for grad in grads:
        layer.weight.grad = grad.clone()
        optimizer.step()
        second_moment = beta2 * second_moment + (1 - beta2) * grad**2
    weight = layer.weight.detach().clone()
    hook = ProximalL1({"w": layer.weight}, lam=lam)
    hook.bind(optimizer)
    hook.after_step(1)
    v_hat = second_moment / (1 - beta2**2)  # Adam's bias correction at step 2
    threshold = lam * lr / (v_hat.sqrt() + eps)
    expected = weight.sign() * (weight.abs() - threshold)
    assert bool((weight.abs() > threshold).all())
    assert torch.allclose(layer.weight, expected)


# -- which weights are prunable -----------------------------------------------------------
class TiedHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.body = nn.Linear(4, 4)
        self.head = nn.Linear(4, 10, bias=False)  # not named lm_head: only the tie excludes it
        self.head.weight = self.embed.weight


def test_a_head_tied_to_the_embeddings_is_left_out_on_the_meta_device_too():
    assert list(prunable_weights(TiedHead())) == ["body.weight"]
    with torch.device("meta"):
        model = TiedHead()  # no storage: the tie is told by the parameter itself
    assert model.head.weight.is_meta
    assert list(prunable_weights(model)) == ["body.weight"]


class Experts(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2, 3, 4))  # 2 experts, out x in


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 4)
        self.experts = Experts()


def test_expert_matrices_come_in_model_order_after_the_layers_before_them():
    assert list(prunable_weights(Block())) == ["first.weight", "experts.w[0]", "experts.w[1]"]


def test_linear_and_expert_weights_reduce_over_their_second_dimension():
    # (out, in) storage: the input axis is 1 (GPT-2's Conv1D, stored (in, out), has 0).
    model = Block()
    assert input_axes(model, prunable_refs(model)) == {
        "first.weight": 1,
        "experts.w[0]": 1,
        "experts.w[1]": 1,
    }
    assert Pruner(two_layers()).input_axes == {"0.weight": 1, "2.weight": 1}


# -- schedules ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["exponential", "cubic", "polynomial"])
def test_a_schedule_starts_exactly_at_its_initial_sparsity(kind):
    # The closed forms give 0.09999999999999998 at progress 0 (1 - 0.9, 0.5 + -0.4): the
    # schedule holds s_i = 0.1 exactly at the begin step and until the next pruning.
    schedule = Schedule(kind, 0.1, 0.5, begin_step=2, end_step=12, frequency=5, power=2.0)
    assert schedule.sparsity_at(2) == 0.1
    assert schedule.sparsity_at(6) == 0.1


def test_refusals_of_a_pattern_and_of_a_threshold_read_exactly():
    # The one line a user reads: the whole message, not a fragment of it.
    with pytest.raises(ValueError) as error:
        parse_pattern("4:2")
    assert str(error.value) == (
        "pattern='4:2' is not allowed; choose 'unstructured' or 'N:M' with "
        "0 < N < M <= 1024 (e.g. '2:4')"
    )
    with pytest.raises(ValueError) as error:
        Pruner(two_layers()).prune_threshold()
    assert str(error.value) == "give exactly one of threshold= (absolute) or q= (times the std)"
