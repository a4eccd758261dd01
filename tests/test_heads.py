"""Attention-head pruning (Llama family): same function as masking, stock config, reload."""

import copy

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from pruning_lib.heads import group_scores, mask_heads, shrink_heads
from pruning_lib.structured import neurons_to_keep

# (architecture, heads, key/value heads, fraction of groups removed, heads kept)
CASES = [
    ("llama", 4, 4, 0.5, 2),  # hidden 16 must be a multiple of the heads: 2 is allowed
    ("mistral", 4, 2, 0.5, 2),  # grouped-query: one group of two query heads goes
    ("qwen2", 4, 4, 0.25, 3),  # attention biases; Qwen2 takes any count
]


def tiny(kind, heads, kv_heads):
    torch.manual_seed(0)
    config = AutoConfig.for_model(
        kind,
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        intermediate_size=32,
    )
    return AutoModelForCausalLM.from_config(config).eval()


def parameters(model):
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


@pytest.mark.parametrize("kind, heads, kv_heads, fraction, kept", CASES)
def test_shrunk_heads_equal_masked_heads_and_reload(
    kind, heads, kv_heads, fraction, kept, tmp_path
):
    model = tiny(kind, heads, kv_heads)
    keep = neurons_to_keep(group_scores(model), fraction)
    masked = copy.deepcopy(model)
    mask_heads(masked, keep)
    before = parameters(model)
    assert shrink_heads(model, fraction) == {"before": heads, "kept": kept}
    # By hand: each removed query head had head_dim rows of q_proj (+ bias) and head_dim
    # columns of o_proj; each removed key/value head head_dim rows of k_proj and v_proj.
    head_dim, hidden, bias = 4, 16, int(kind == "qwen2")
    removed_q = heads - kept
    removed_kv = removed_q * kv_heads // heads
    per_layer = removed_q * head_dim * (2 * hidden + bias) + 2 * removed_kv * head_dim * (
        hidden + bias
    )
    assert parameters(model) == before - 2 * per_layer
    assert model.config.num_attention_heads == kept and model.config.head_dim == head_dim
    assert model.config.num_key_value_heads == kv_heads - removed_kv
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = masked(input_ids=ids).logits
        assert torch.allclose(model(input_ids=ids).logits, expected, atol=1e-5)
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, use_safetensors=True).eval()
    assert type(reloaded) is type(model) and parameters(reloaded) == parameters(model)
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, expected, atol=1e-5)


def test_masking_heads_changes_the_function():
    """The reference is not vacuous: the masked model differs from the dense one."""
    model = tiny("llama", 4, 4)
    masked = copy.deepcopy(model)
    mask_heads(masked, neurons_to_keep(group_scores(model), 0.5))
    ids = torch.arange(12)[None]
    with torch.no_grad():
        assert not torch.allclose(model(input_ids=ids).logits, masked(input_ids=ids).logits)


def test_lowest_scoring_groups_go():
    model = tiny("mistral", 4, 2)
    with torch.no_grad():
        model.model.layers[0].self_attn.v_proj.weight[4:] *= 100  # group 1 of layer 0
    scores = group_scores(model)
    assert scores[0][1] > scores[0][0]
    q_before = model.model.layers[0].self_attn.q_proj.weight[8:].clone()
    shrink_heads(model, 0.5)
    assert torch.equal(model.model.layers[0].self_attn.q_proj.weight, q_before)


def test_bad_input_is_refused_before_any_change():
    model = tiny("llama", 4, 4)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="fraction=0.25 leaves 3 heads, which LlamaConfig"):
        shrink_heads(model, 0.25)  # 16 is not a multiple of 3
    with pytest.raises(ValueError, match="fraction=1.0"):
        shrink_heads(model, 1.0)
    with pytest.raises(ValueError, match="leave no key/value group of 4"):
        shrink_heads(model, 0.9)
    config = model.config.to_dict()
    for scores, words in (
        ([torch.ones(3), torch.ones(3)], r"scores\[0\] is \(3,\); allowed: a 1-D tensor of 4"),
        ([torch.ones(4)], "scores has 1 entries; allowed: one per layer, 2"),
        ([torch.ones(4), torch.ones(2, 2)], r"scores\[1\] is \(2, 2\)"),
        ([torch.ones(4), torch.tensor([1.0, float("nan"), 1, 1])], "holds a NaN"),
        ([torch.ones(4), torch.tensor([1.0, float("inf"), 1, 1])], "finite scores >= 0"),
    ):
        with pytest.raises(ValueError, match=words):
            shrink_heads(model, 0.5, scores=scores)
    with pytest.raises(ValueError, match=r"keep\[0\] must be distinct integer indices"):
        mask_heads(model, [torch.tensor([0, 9]), torch.tensor([0, 1])])
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert model.config.to_dict() == config
    gpt2 = AutoModelForCausalLM.from_config(
        AutoConfig.for_model("gpt2", vocab_size=64, n_embd=16, n_layer=1, n_head=2)
    )
    with pytest.raises(ValueError, match="model_type='gpt2' derives the head size"):
        shrink_heads(gpt2, 0.5)
