"""Whole blocks removed: the same as skipping them, a stock config, a stock reload."""

import copy

import pytest
import torch
from test_structured import SMALL
from transformers import AutoConfig, AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

from pruning_lib.blocks import block_influence, blocks_to_remove, remove_blocks
from pruning_lib.structured import transformer_layers


def four_blocks(kind):
    torch.manual_seed(0)
    small = dict(SMALL[kind])
    small["n_layer" if kind == "gpt2" else "num_hidden_layers"] = 4
    config = AutoConfig.for_model(kind, vocab_size=64, **small)
    return AutoModelForCausalLM.from_config(config).eval()


def parameters(model):
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def skipping(model, skipped):
    """The reference: the full model with hooks that hand each skipped block's input on
    as its output (the residual stream passes the block by)."""

    def bypass(module, args, kwargs, output):
        hidden = args[0] if args else kwargs["hidden_states"]
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    layers = transformer_layers(model)
    return [layers[i].register_forward_hook(bypass, with_kwargs=True) for i in skipped]


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_removed_blocks_equal_skipped_blocks_and_reload_with_the_stock_class(kind, tmp_path):
    model = four_blocks(kind)
    reference = copy.deepcopy(model)
    handles = skipping(reference, [1, 2])
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(input_ids=ids, use_cache=False).logits
    for handle in handles:
        handle.remove()
    per_block = parameters(transformer_layers(model)[1])
    before = parameters(model)
    assert remove_blocks(model, [2, 1]) == [1, 2]
    assert model.config.num_hidden_layers == 2 and len(transformer_layers(model)) == 2
    assert parameters(model) == before - 2 * per_block
    with torch.no_grad():
        assert torch.allclose(model(input_ids=ids, use_cache=False).logits, expected, atol=1e-6)
        # Generation's cache is indexed by the renumbered blocks.
        generated = model.generate(ids[:1], max_new_tokens=3, do_sample=False)
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, use_safetensors=True).eval()
    assert type(reloaded) is type(model) and parameters(reloaded) == parameters(model)
    with torch.no_grad():
        got = reloaded(input_ids=ids, use_cache=False).logits
        assert torch.allclose(got, expected, atol=1e-6)
        assert torch.equal(reloaded.generate(ids[:1], max_new_tokens=3, do_sample=False), generated)


def test_block_influence_is_one_minus_the_cosine_of_hf_hidden_states():
    model = four_blocks("llama")
    batches = [
        torch.randint(0, 64, (3, 10), generator=torch.Generator().manual_seed(s)) for s in (0, 1)
    ]
    influence = block_influence(model, batches)
    # Reference: the model's own hidden states (before each block; the last one HF returns is
    # after the final norm, so the last block is checked by the identity test below).
    sums, count = [0.0] * 3, 0
    with torch.no_grad():
        for batch in batches:
            states = model(input_ids=batch, output_hidden_states=True).hidden_states
            for i in range(3):
                x, y = states[i], states[i + 1]
                cosine = (x * y).sum(-1) / (x.norm(dim=-1) * y.norm(dim=-1))
                sums[i] += float(cosine.sum())
            count += batch.numel()
    assert influence[:3] == pytest.approx([1 - s / count for s in sums], abs=1e-5)
    assert all(0 <= value <= 2 for value in influence)


def test_a_block_that_changes_nothing_has_no_influence_and_goes_first():
    model = GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=4, n_head=2, vocab_size=64)).eval()
    block = transformer_layers(model)[3]
    with torch.no_grad():  # both residual branches write zero: the block is the identity
        for projection in (block.attn.c_proj, block.mlp.c_proj):
            projection.weight.zero_()
            projection.bias.zero_()
    influence = block_influence(model, [torch.randint(0, 64, (2, 16))])
    assert influence[3] == pytest.approx(0.0, abs=1e-6)
    assert min(influence[:3]) > 1e-3
    assert blocks_to_remove(influence, 1) == [3]
    assert blocks_to_remove([0.2, 0.1, 0.1, 0.5], 2) == [1, 2]


def test_bad_requests_are_refused_before_any_change():
    model = four_blocks("gpt2")
    before = copy.deepcopy(model.state_dict())
    for indices, words in (
        ([4], "out of range"),
        ([-1], "out of range"),
        ([0, 1, 2, 3], "every block"),
    ):
        with pytest.raises(ValueError, match=words):
            remove_blocks(model, indices)
    with pytest.raises(ValueError, match="count="):
        blocks_to_remove([0.1, 0.2], 2)
    scaled = GPT2LMHeadModel(
        GPT2Config(
            n_embd=8, n_layer=2, n_head=2, vocab_size=16, scale_attn_by_inverse_layer_idx=True
        )
    )
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        remove_blocks(scaled, [0])
    with pytest.raises(ValueError, match="block removal knows"):
        remove_blocks(torch.nn.Linear(2, 2), [0])
    assert model.config.n_layer == 4
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
