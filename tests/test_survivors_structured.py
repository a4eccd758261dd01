"""Pin behaviour of structured.py/heads.py that a mutation run found unchecked."""

import copy
import re
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM
from transformers.pytorch_utils import Conv1D

from pruning_lib.heads import group_scores, shrink_heads
from pruning_lib.structured import (
    check_kept,
    check_unit_scores,
    mlp_shape,
    mlp_up_matrix,
    neuron_scores,
    neurons_to_keep,
    output_rows,
    shrink_mlp,
    slice_module,
    transformer_layers,
)


def tiny(kind, **sizes):
    torch.manual_seed(0)
    config = AutoConfig.for_model(kind, vocab_size=64, **sizes)
    return AutoModelForCausalLM.from_config(config).eval()


def tiny_gpt2(layers=2):
    return tiny("gpt2", n_embd=8, n_layer=layers, n_head=2, n_positions=32)


def tiny_llama(layers=2, **extra):
    sizes = dict(
        hidden_size=16,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=32,
    )
    return tiny("llama", **{**sizes, **extra})


def stand_in(model_type):
    """A module whose config names ``model_type``: enough for the architecture checks,
    which must refuse it before touching any weight."""
    model = nn.Linear(2, 2)
    model.config = SimpleNamespace(model_type=model_type)
    return model


def exactly(message):
    return "^" + re.escape(message) + "$"


# --- architecture refusals -----------------------------------------------------------------


def test_a_model_without_a_config_is_refused_with_model_type_none():
    # A bare module has no config: the refusal is the usual ValueError naming what is known,
    # not an AttributeError from looking the config up.
    with pytest.raises(ValueError, match=r"model_type=None is not one of them$"):
        shrink_mlp(nn.Linear(2, 2), 0.5)
    with pytest.raises(ValueError, match=r"model_type=None is not one of them$"):
        shrink_heads(nn.Linear(2, 2), 0.5)


def test_unknown_architectures_are_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError) as mlp:
        shrink_mlp(stand_in("bert"), 0.5)
    assert str(mlp.value) == (
        "structured MLP pruning knows ['gpt2', 'gpt_neox', 'llama', 'mistral', 'opt', "
        "'qwen2']; model_type='bert' is not one of them"
    )
    with pytest.raises(ValueError) as heads:
        shrink_heads(stand_in("bert"), 0.5)
    assert str(heads.value) == (
        "head pruning knows ['llama', 'mistral', 'qwen2']; model_type='bert' is not one of them"
    )


@pytest.mark.parametrize("kind", ["gpt2", "gpt_neox", "opt"])
def test_head_pruning_of_a_derived_head_size_points_to_shrink_mlp(kind):
    # The message says why (head size = hidden / heads) and what is allowed instead.
    message = (
        f"model_type={kind!r} derives the head size from hidden_size / num_attention_heads, "
        "so a stock config cannot state fewer heads of the same size; remove MLP neurons "
        "(shrink_mlp) instead"
    )
    with pytest.raises(ValueError, match=exactly(message)):
        shrink_heads(stand_in(kind), 0.5)


def test_a_model_without_transformer_layers_is_refused_naming_the_places_looked():
    message = "no transformer layers found (transformer.h, gpt_neox.layers, ...)"
    with pytest.raises(ValueError, match=exactly(message)):
        transformer_layers(nn.Linear(2, 2))


# --- heads: head_dim stated apart from the hidden size ----------------------------------------


def test_shrink_heads_keeps_a_head_dim_stated_apart_from_the_hidden_size(tmp_path):
    # head_dim=8 while hidden/heads = 4: the rows of a group are 2 heads * 8, not 2 * 4.
    model = tiny_llama(head_dim=8)
    reference = copy.deepcopy(model)
    # Layer 0 keeps group 1, layer 1 keeps group 0. Reference by hand: a removed group's
    # query heads reach the output only through its 16 columns of o_proj, so zero them.
    with torch.no_grad():
        reference.model.layers[0].self_attn.o_proj.weight[:, :16] = 0
        reference.model.layers[1].self_attn.o_proj.weight[:, 16:] = 0
    q_kept = model.model.layers[0].self_attn.q_proj.weight[16:].clone()
    k_kept = model.model.layers[0].self_attn.k_proj.weight[8:].clone()
    scores = [torch.tensor([1.0, 2.0]), torch.tensor([2.0, 1.0])]
    assert shrink_heads(model, 0.5, scores=scores) == {"before": 4, "kept": 2}
    config = model.config
    assert (config.num_attention_heads, config.num_key_value_heads, config.head_dim) == (2, 1, 8)
    attention = model.model.layers[0].self_attn
    assert torch.equal(attention.q_proj.weight, q_kept)
    assert torch.equal(attention.k_proj.weight, k_kept)
    assert attention.o_proj.weight.shape == (16, 16)
    ids = torch.randint(0, 64, (2, 10), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(input_ids=ids).logits
        assert torch.allclose(model(input_ids=ids).logits, expected, atol=1e-5)
    # The stock class rebuilds the same function from the saved config alone.
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, use_safetensors=True).eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, expected, atol=1e-5)


def test_group_scores_are_the_l2_norm_of_each_groups_rows_and_columns():
    model = tiny_llama(head_dim=8)  # 2 groups of 2 query heads, 16 query rows a group
    scores = group_scores(model)
    assert len(scores) == 2
    for layer, score in zip(model.model.layers, scores):
        attention = layer.self_attn
        q, k = attention.q_proj.weight, attention.k_proj.weight
        v, o = attention.v_proj.weight, attention.o_proj.weight
        expected = torch.stack(
            [
                (
                    q[16 * g : 16 * (g + 1)].pow(2).sum()
                    + k[8 * g : 8 * (g + 1)].pow(2).sum()
                    + v[8 * g : 8 * (g + 1)].pow(2).sum()
                    + o[:, 16 * g : 16 * (g + 1)].pow(2).sum()
                ).sqrt()
                for g in range(2)
            ]
        ).detach()
        assert score.shape == (2,)
        assert torch.allclose(score, expected, rtol=1e-5)


# --- MLP: shapes, scores, the up matrix --------------------------------------------------------


def test_mlp_shape_of_a_one_layer_model_counts_by_hand():
    # GPT-2, n_embd 8: 32 neurons; one owns 8 c_fc weights + 1 bias + 8 c_proj weights = 17.
    shape = mlp_shape(tiny_gpt2(layers=1))
    assert shape == (1, 32, 17)
    assert all(type(value) is int for value in shape)  # counts, as the docstring prints them
    # Llama, hidden 16: a neuron owns a gate row, an up row and a down column, 3 * 16.
    shape = mlp_shape(tiny_llama(layers=1))
    assert shape == (1, 32, 48)
    assert all(type(value) is int for value in shape)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_neuron_scores_are_the_l2_norm_of_each_neurons_rows_and_column(kind):
    model = tiny_gpt2() if kind == "gpt2" else tiny_llama()
    scores = neuron_scores(model)
    assert len(scores) == 2
    for layer, score in zip(transformer_layers(model), scores):
        if kind == "gpt2":  # Conv1D stores (in, out): a neuron is a column of c_fc
            ups = [layer.mlp.c_fc.weight.t()]
            down = layer.mlp.c_proj.weight.t()
        else:
            ups = [layer.mlp.gate_proj.weight, layer.mlp.up_proj.weight]
            down = layer.mlp.down_proj.weight
        expected = torch.stack(
            [
                (sum(up[i].pow(2).sum() for up in ups) + down[:, i].pow(2).sum()).sqrt()
                for i in range(32)
            ]
        ).detach()
        assert score.shape == (32,)
        assert torch.allclose(score, expected, rtol=1e-5)


def test_mlp_up_matrix_names_the_first_up_projection_of_the_asked_layer():
    llama = tiny_llama()
    name, module = mlp_up_matrix(llama, 1)
    # Llama's neurons are the rows of gate_proj (first) and up_proj; layer 1, not 0.
    assert name == "model.layers.1.mlp.gate_proj.weight"
    assert module is llama.model.layers[1].mlp.gate_proj
    assert llama.get_parameter(name) is module.weight
    gpt2 = tiny_gpt2()
    name, module = mlp_up_matrix(gpt2, 0)
    assert name == "transformer.h.0.mlp.c_fc.weight"
    assert module is gpt2.transformer.h[0].mlp.c_fc


def test_output_rows_is_the_weight_as_out_by_in_for_conv1d_and_linear():
    torch.manual_seed(0)
    x = torch.randn(3, 4)
    for module in (Conv1D(6, 4), nn.Linear(4, 6)):
        with torch.no_grad():
            module.bias.normal_()  # Conv1D starts with a zero bias
            rows = output_rows(module)
            assert rows.shape == (6, 4)
            # out = rows @ x + bias is what the module computes
            assert torch.allclose(x @ rows.t() + module.bias, module(x), atol=1e-6)
            # a view: writing through it writes the module's weight
            rows[0, 0] = 42.0
        assert 42.0 in module.weight


# --- checks --------------------------------------------------------------------------------


def test_check_unit_scores_names_the_unit_and_refuses_what_is_not_a_list():
    with pytest.raises(ValueError, match=r"one per neuron of the layer$"):
        check_unit_scores([torch.ones(3)], layers=1, width=4)
    for scores in (None, {0: torch.ones(4), 1: torch.ones(4)}, "ab"):
        with pytest.raises(ValueError, match=r"^scores must be a list of 2 tensors, one per layer"):
            check_unit_scores(scores, layers=2, width=4)
    # A plain list of numbers is not a tensor: the message names its type.
    with pytest.raises(ValueError, match=r"^scores\[0\] is list; allowed: a 1-D tensor of 4"):
        check_unit_scores([[1.0, 1.0, 1.0, 1.0]], layers=1, width=4)
    with pytest.raises(ValueError, match=r"allowed: finite scores >= 0$"):
        check_unit_scores([torch.tensor([1.0, -1.0, 1.0, 1.0])], layers=1, width=4)
    check_unit_scores([torch.zeros(4), torch.ones(4)], layers=2, width=4)  # fine: no error


@pytest.mark.parametrize(
    "keep",
    [
        [torch.tensor([0.0, 1.0])],  # float indices
        [torch.tensor([True, False, True, False])],  # a boolean mask is not indices
        [torch.tensor([[0, 1]])],  # 2-D
        [[0, 1]],  # a list, not a tensor
        [torch.tensor([0, 4])],  # 4 is outside [0, 4)
        [torch.tensor([-1, 0])],  # below 0
        [torch.tensor([1, 1])],  # repeated
    ],
)
def test_check_kept_refuses_what_is_not_distinct_indices_in_range(keep):
    with pytest.raises(
        ValueError, match=r"^keep\[0\] must be distinct integer indices in \[0, 4\)"
    ):
        check_kept(keep, layers=1, width=4)


def test_check_kept_wants_one_tensor_per_layer():
    for keep in ([torch.arange(2)], (torch.arange(2),) * 3, torch.arange(2)):
        with pytest.raises(ValueError, match=r"^keep must hold one tensor of indices per layer, 2"):
            check_kept(keep, layers=2, width=4)
    check_kept([torch.tensor([3, 0]), torch.tensor([], dtype=torch.long)], layers=2, width=4)


def test_neurons_to_keep_of_a_single_layer():
    scores = [torch.tensor([3.0, 1.0, 2.0, 0.0])]
    (kept,) = neurons_to_keep(scores, 0.5)
    assert kept.tolist() == [0, 2]  # the two highest scores, in index order


# --- slice_module --------------------------------------------------------------------------


def test_slice_module_keeps_outputs_and_updates_out_features():
    torch.manual_seed(0)
    linear = nn.Linear(4, 6)
    original = copy.deepcopy(linear)
    index = torch.tensor([1, 4])
    slice_module(linear, index, out=True)
    assert (linear.in_features, linear.out_features) == (4, 2)
    x = torch.randn(3, 4)
    with torch.no_grad():
        assert torch.allclose(linear(x), original(x)[:, index])
    assert "out_features=2" in repr(linear)


def test_slice_module_keeps_inputs_and_updates_in_features():
    torch.manual_seed(0)
    linear = nn.Linear(6, 4)
    original = copy.deepcopy(linear)
    index = torch.tensor([0, 5])
    slice_module(linear, index, out=False)
    assert (linear.in_features, linear.out_features) == (2, 4)
    x = torch.randn(3, 6)
    x[:, 1:5] = 0  # the removed inputs carry nothing, so the output is the same
    with torch.no_grad():
        assert torch.allclose(linear(x[:, index]), original(x), atol=1e-6)


def test_slice_module_of_a_weight_only_module_without_a_bias_attribute():
    # A custom projection may hold a weight and no ``bias`` attribute at all.
    module = nn.Module()
    module.weight = nn.Parameter(torch.arange(12.0).view(4, 3))
    slice_module(module, torch.tensor([0, 3]), out=True)
    assert module.weight.tolist() == [[0.0, 1.0, 2.0], [9.0, 10.0, 11.0]]
    assert module.out_features == 2
