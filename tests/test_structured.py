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
