"""Structured MLP pruning shrinks the model: same function as masking, stock config, reload."""

import copy

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from pruning_lib.structured import (
    _mlp_modules,
    _spec,
    mask_mlp,
    neuron_scores,
    neurons_to_keep,
    shrink_mlp,
    transformer_layers,
)

SMALL = {
    "gpt2": dict(n_embd=16, n_layer=2, n_head=2, n_positions=32),
    "gpt_neox": dict(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32
    ),
    "opt": dict(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        ffn_dim=32,
        word_embed_proj_dim=16,
        max_position_embeddings=32,
    ),
    "llama": dict(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=32,
    ),
    "mistral": dict(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=32,
    ),
    "qwen2": dict(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=32,
    ),
}


def tiny(kind):
    torch.manual_seed(0)
    config = AutoConfig.for_model(kind, vocab_size=64, **SMALL[kind])
    return AutoModelForCausalLM.from_config(config).eval()


def parameters(model):
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_shrunk_equals_masked_and_reloads_with_the_stock_class(kind, tmp_path):
    model = tiny(kind)
    keep = neurons_to_keep(neuron_scores(model), 0.25)
    masked = copy.deepcopy(model)
    mask_mlp(masked, keep)
    where, spec = _spec(model)
    ups, down = _mlp_modules(transformer_layers(model)[0], where, spec)
    hidden = model.config.hidden_size if kind != "gpt2" else model.config.n_embd
    per_neuron = sum(hidden + (up.bias is not None) for up in ups) + hidden
    before = parameters(model)
    result = shrink_mlp(model, 0.25)
    removed = result["before"] - result["kept"]
    assert removed == round(0.25 * result["before"])
    assert parameters(model) == before - removed * per_neuron * len(transformer_layers(model))
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = masked(input_ids=ids).logits
        assert torch.allclose(model(input_ids=ids).logits, expected, atol=1e-5)
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, use_safetensors=True).eval()
    assert type(reloaded) is type(model) and parameters(reloaded) == parameters(model)
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, expected, atol=1e-5)


def test_bad_fractions_and_architectures_are_refused_before_any_change():
    model = tiny("llama")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="fraction=1.0"):
        shrink_mlp(model, 1.0)
    with pytest.raises(ValueError, match="leave no neuron of 32"):
        shrink_mlp(model, 0.99)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="model_type='bert'"):
        _spec(type("M", (), {"config": type("C", (), {"model_type": "bert"})()})())


def snapshot(model):
    """Everything a refused call must leave as it was: every tensor and the config."""
    return {k: v.clone() for k, v in model.state_dict().items()}, model.config.to_dict()


def unchanged(model, before):
    state, config = before
    now = model.state_dict()
    return (
        now.keys() == state.keys()
        and all(torch.equal(state[k], now[k]) for k in state)
        and model.config.to_dict() == config
    )


def good(n=32):
    return torch.ones(n)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize(
    "scores, words",
    [
        (lambda: [good()], "scores has 1 entries; allowed: one per layer, 2"),  # one of 2 layers
        (lambda: [good(31), good()], r"scores\[0\] is \(31,\); allowed: a 1-D tensor of 32"),
        (lambda: [good(), good(33)], r"scores\[1\] is \(33,\)"),  # once failed after layer 0
        (lambda: [good(), torch.ones(2, 16)], r"scores\[1\] is \(2, 16\)"),
        (lambda: [good(), torch.full((32,), float("nan"))], r"scores\[1\] holds a NaN"),
        (lambda: [good(), torch.full((32,), float("inf"))], "finite scores >= 0"),
        (lambda: [-good(), good()], r"scores\[0\] holds .* negative"),
        (lambda: torch.ones(2, 32), "scores must be a list of 2 tensors"),
    ],
)
def test_bad_scores_are_refused_before_any_change(kind, scores, words):
    model = tiny(kind)
    if kind == "gpt2":
        model.config.n_inner = 32  # the width the scores above are made for
        model = AutoModelForCausalLM.from_config(model.config).eval()
    before = snapshot(model)
    with pytest.raises(ValueError, match=words):
        shrink_mlp(model, 0.5, scores=scores())
    assert unchanged(model, before)
    with pytest.raises(
        ValueError, match=r"keep\[1\] must be distinct integer indices in \[0, 32\)"
    ):
        mask_mlp(model, [torch.arange(16), torch.arange(16) + 20])
    assert unchanged(model, before)


def test_scores_pick_the_neurons_and_their_biases():
    """Kept neurons keep their own biases, not the first ones (a bias sliced by position)."""
    model = tiny("gpt2")
    model.config.n_inner = 8
    model = AutoModelForCausalLM.from_config(model.config).eval()
    layer = model.transformer.h[0].mlp
    with torch.no_grad():
        layer.c_fc.bias.copy_(torch.arange(8) / 10)
    scores = [torch.tensor([0.0, 5, 0, 5, 5, 5, 5, 5]), torch.ones(8)]
    shrink_mlp(model, 0.25, scores=scores)
    assert layer.c_fc.bias.tolist() == pytest.approx([0.1, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert model.config.n_inner == 6
