"""Masks against torch.nn.utils.prune, hand counts, and the peers' bugs."""

import copy

import pytest
import torch
import torch.nn.utils.prune as torch_prune
from torch import nn
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    OPTConfig,
    OPTForCausalLM,
)

from pruning_lib import prune
from pruning_lib.prune import Pruner, magnitude_masks, prunable_weights


def tiny_models():
    torch.manual_seed(0)
    return {
        "gpt2": GPT2LMHeadModel(
            GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=2, n_head=2)
        ),
        "neox": GPTNeoXForCausalLM(
            GPTNeoXConfig(
                vocab_size=50,
                hidden_size=16,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=16,
            )
        ),
        "opt": OPTForCausalLM(
            OPTConfig(
                vocab_size=50,
                hidden_size=16,
                num_hidden_layers=2,
                num_attention_heads=2,
                ffn_dim=32,
                max_position_embeddings=16,
                word_embed_proj_dim=16,
            )
        ),
        "llama": LlamaForCausalLM(
            LlamaConfig(
                vocab_size=50,
                hidden_size=16,
                num_hidden_layers=2,
                num_attention_heads=2,
                num_key_value_heads=2,
                intermediate_size=32,
                max_position_embeddings=16,
            )
        ),
    }


EXPECTED = {  # attention + MLP matrices per layer, 2 layers
    "gpt2": [
        "transformer.h.0.attn.c_attn.weight",
        "transformer.h.0.attn.c_proj.weight",
        "transformer.h.0.mlp.c_fc.weight",
        "transformer.h.0.mlp.c_proj.weight",
    ],
    "neox": [
        "gpt_neox.layers.0.attention.query_key_value.weight",
        "gpt_neox.layers.0.attention.dense.weight",
        "gpt_neox.layers.0.mlp.dense_h_to_4h.weight",
        "gpt_neox.layers.0.mlp.dense_4h_to_h.weight",
    ],
    "opt": [
        "model.decoder.layers.0.self_attn.k_proj.weight",
        "model.decoder.layers.0.self_attn.v_proj.weight",
        "model.decoder.layers.0.self_attn.q_proj.weight",
        "model.decoder.layers.0.self_attn.out_proj.weight",
        "model.decoder.layers.0.fc1.weight",
        "model.decoder.layers.0.fc2.weight",
    ],
    "llama": [
        "model.layers.0.self_attn.q_proj.weight",
        "model.layers.0.self_attn.k_proj.weight",
        "model.layers.0.self_attn.v_proj.weight",
        "model.layers.0.self_attn.o_proj.weight",
        "model.layers.0.mlp.gate_proj.weight",
        "model.layers.0.mlp.up_proj.weight",
        "model.layers.0.mlp.down_proj.weight",
    ],
}


@pytest.mark.parametrize("arch", sorted(EXPECTED))
def test_prunable_weights_of_each_architecture(arch):
    model = tiny_models()[arch]
    names = list(prunable_weights(model))
    layer0 = [n for n in names if ".0." in n]
    assert sorted(layer0) == sorted(EXPECTED[arch])  # GPT-2's Conv1D included
    assert len(names) == 2 * len(EXPECTED[arch])
    assert not any("embed" in n or "wte" in n or "lm_head" in n or "norm" in n for n in names)


def test_include_exclude_and_no_match_error():
    model = tiny_models()["gpt2"]
    mlp = prunable_weights(model, include=[r"\.mlp\."])
    assert len(mlp) == 4 and all(".mlp." in n for n in mlp)
    no_attn = prunable_weights(model, exclude=[r"\.attn\."])
    assert len(no_attn) == 4
    with pytest.raises(ValueError, match="no prunable weight matched"):
        Pruner(model, include=["nothing-matches"])


def test_threshold_and_std_rule_by_hand():
    w = torch.tensor([[0.5, -0.05, 0.2], [-1.0, 0.1, 0.0]])
    assert prune.threshold_mask(w, 0.1).tolist() == [[True, False, True], [True, True, False]]
    std = w.std().item()
    assert prune.std_threshold(w, 0.5) == pytest.approx(0.5 * std)
    with pytest.raises(ValueError, match=r"threshold=-0.1 is out of range; allowed: \[0, inf\)"):
        prune.threshold_mask(w, -0.1)
    with pytest.raises(ValueError, match="q=-1"):
        prune.std_threshold(w, -1)


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.3, 0.5, 0.77, 0.99])
def test_layerwise_equals_torch_l1_unstructured(sparsity):
    model = tiny_models()["gpt2"]
    weights = prunable_weights(model)
    ours = magnitude_masks(weights, sparsity, "layer")
    for name, w in weights.items():
        module = nn.Linear(1, 1)
        module.weight = nn.Parameter(w.detach().clone())
        torch_prune.l1_unstructured(module, "weight", amount=sparsity)
        assert torch.equal(ours[name], module.weight_mask.bool()), name


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9])
def test_global_equals_torch_global_unstructured(sparsity):
    model = tiny_models()["llama"]
    weights = prunable_weights(model)
    ours = magnitude_masks(weights, sparsity, "global")
    copies = {n: nn.Linear(1, 1) for n in weights}
    for name, w in weights.items():
        copies[name].weight = nn.Parameter(w.detach().clone())
    torch_prune.global_unstructured(
        [(m, "weight") for m in copies.values()], torch_prune.L1Unstructured, amount=sparsity
    )
    for name in weights:
        assert torch.equal(ours[name], copies[name].weight_mask.bool()), name
    total = sum(w.numel() for w in weights.values())
    assert sum(int((~m).sum()) for m in ours.values()) == round(sparsity * total)


def test_exact_count_with_ties_is_deterministic():
    w = {"a": torch.ones(3, 3), "b": torch.ones(2, 5)}
    masks = magnitude_masks(w, 0.5, "global")
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.5 * 19)
    # Ties: the first weights in model order, row-major, are pruned first.
    assert (~masks["a"]).all() and int((~masks["b"]).sum()) == 1 and not masks["b"][0, 0]
    assert all(torch.equal(masks[k], magnitude_masks(w, 0.5, "global")[k]) for k in w)


def test_rate_compounds_like_torch_amount():
    model = tiny_models()["opt"]
    pruner = Pruner(model)
    for _ in range(5):
        pruner.prune(0.1, of="remaining")
    total = sum(w.numel() for w in pruner.weights.values())
    assert pruner.sparsity() == pytest.approx(0.40951, abs=2 / total * len(pruner.weights))
    assert prune.rate_to_sparsity(0.1, 5) == pytest.approx(0.40951)
    assert prune.sparsity_to_rate(0.40951, 5) == pytest.approx(0.1)
    assert prune.step_rate(0.2, 0.6) == pytest.approx(0.5)
    # torch's iterative amount compounds the same way on one layer.
    w = next(iter(prunable_weights(tiny_models()["opt"]).values()))
    module = nn.Linear(1, 1)
    module.weight = nn.Parameter(w.detach().clone())
    ours = Pruner(nn.Sequential(module))
    reference = nn.Linear(1, 1)
    reference.weight = nn.Parameter(w.detach().clone())
    for _ in range(3):
        ours.prune(0.1, of="remaining")
        torch_prune.l1_unstructured(reference, "weight", amount=0.1)
    assert torch.equal(ours.masks["0.weight"], reference.weight_mask.bool())


def test_pruning_twice_never_loosens():
    model = tiny_models()["gpt2"]
    pruner = Pruner(model)
    pruner.prune(0.5)
    before = {k: m.clone() for k, m in pruner.masks.items()}
    # Revive weights by hand (as an optimizer would), then prune to a lower sparsity.
    with torch.no_grad():
        for w in pruner.weights.values():
            w.add_(0.01)
    assert pruner.prune(0.2) == pytest.approx(0.5, abs=0.01)
    pruner.prune_threshold(threshold=0.0)
    for name, mask in pruner.masks.items():
        assert not (mask & ~before[name]).any(), name


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda p: p.prune(1.0), ["amount=1.0", "[0, 1)"]),
        (lambda p: p.prune(-0.1), ["amount=-0.1"]),
        (lambda p: p.prune(1.5, of="remaining"), ["amount=1.5", "[0, 1)"]),
        (lambda p: p.prune_threshold(threshold=-1.0), ["threshold=-1.0"]),
        (lambda p: p.prune_threshold(q=-2), ["q=-2"]),
        (lambda p: p.prune_threshold(), ["exactly one"]),
        (lambda p: p.prune(0.5, scope="row"), ["scope='row'"]),
    ],
)
def test_bad_input_changes_nothing(call, words):
    model = tiny_models()["gpt2"]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    pruner = Pruner(model)
    with pytest.raises(ValueError) as error:
        call(pruner)
    for word in words:
        assert word in str(error.value)
    assert pruner.masks == {}
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_deepcopy_and_state_dict_keys_unchanged(tmp_path):
    model = tiny_models()["gpt2"]
    keys = list(model.state_dict())
    pruner = Pruner(model)
    pruner.prune(0.5)
    assert list(model.state_dict()) == keys  # no weight_orig / weight_mask
    twin = copy.deepcopy(model)
    assert torch.equal(
        twin.state_dict()["transformer.h.0.mlp.c_fc.weight"],
        model.state_dict()["transformer.h.0.mlp.c_fc.weight"],
    )
    copy.deepcopy(pruner)
    # save_pretrained + from_pretrained keeps the zeros (torch pruning re-initialises them).
    model.save_pretrained(tmp_path / "m")
    loaded = GPT2LMHeadModel.from_pretrained(tmp_path / "m")
    for name, w in pruner.weights.items():
        assert torch.equal(loaded.get_parameter(name), w), name


def test_masks_save_and_load(tmp_path):
    model = tiny_models()["neox"]
    pruner = Pruner(model)
    pruner.prune(0.3, scope="global")
    path = pruner.save(tmp_path / "masks.safetensors")
    fresh = tiny_models()["neox"]  # same seed: same dense weights
    other = Pruner(fresh)
    assert other.load(path) == pytest.approx(pruner.sparsity())
    for name in pruner.masks:
        assert torch.equal(other.masks[name], pruner.masks[name])
    with pytest.raises(ValueError, match="unknown weights"):
        Pruner(tiny_models()["gpt2"]).load(path)


def test_report_counts():
    model = tiny_models()["gpt2"]
    pruner = Pruner(model)
    pruner.prune(0.5)
    rows = pruner.report()
    assert rows[-1]["name"] == "total"
    assert rows[-1]["nonzero"] == sum(r["nonzero"] for r in rows[:-1])
    assert rows[-1]["sparsity"] == pytest.approx(0.5, abs=1e-3)


def test_layer_rate_is_a_fraction_of_each_layers_remaining_weights():
    # The repro: after a global 0.5 the layers differ in sparsity; a layer-scope rate
    # of 0.2 removes 20% of what stands in each layer (0.499 -> about 0.6, not 0.794).
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(13, 17), nn.Linear(17, 11), nn.Linear(11, 3))
    model[0].weight.data.mul_(0.01)
    pruner = Pruner(model)
    pruner.prune(0.5, scope="global")
    standing = {n: int(m.sum()) for n, m in pruner.masks.items()}
    pruner.prune(0.2, of="remaining")
    for name, mask in pruner.masks.items():
        assert int(mask.sum()) == standing[name] - round(0.2 * standing[name]), name
    total = sum(w.numel() for w in pruner.weights.values())
    expected = 1 - sum(s - round(0.2 * s) for s in standing.values()) / total
    assert pruner.sparsity() == pytest.approx(expected) and abs(expected - 0.6) < 0.01


def test_global_rate_is_a_fraction_of_all_remaining_weights():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(13, 17), nn.Linear(17, 11), nn.Linear(11, 3))
    model[0].weight.data.mul_(0.01)
    pruner = Pruner(model, scope="global")
    pruner.prune(0.5)
    standing = sum(int(m.sum()) for m in pruner.masks.values())
    pruner.prune(0.2, of="remaining")
    assert sum(int(m.sum()) for m in pruner.masks.values()) == standing - round(0.2 * standing)


def test_torch_prune_container_amount_matches_layer_rate_after_uneven_pruning():
    # torch.nn.utils.prune's iterative amount is relative to the unpruned entries of that
    # tensor (PruningContainer): the reference for a per-layer rate.
    torch.manual_seed(4)
    layers = [nn.Linear(9, 7), nn.Linear(7, 5)]
    ours = Pruner(nn.Sequential(*copy.deepcopy(layers)))
    ours.prune(0.6, scope="global")
    references = copy.deepcopy(layers)
    for ref, mask in zip(references, ours.masks.values()):
        torch_prune.custom_from_mask(ref, "weight", mask)
    ours.prune(0.3, of="remaining")
    for ref, mask in zip(references, ours.masks.values()):
        torch_prune.l1_unstructured(ref, "weight", amount=0.3)
        assert torch.equal(mask, ref.weight_mask.bool())


def test_masks_argument_keeps_old_pruning_even_at_a_lower_sparsity():
    # A direct caller (no Pruner and-ing the masks) must never get a pruned weight back.
    torch.manual_seed(5)
    weights = {"a": torch.randn(6, 5), "b": torch.randn(4, 5)}
    old = magnitude_masks(weights, 0.6)
    revived = {k: w + 10 * (~old[k]) for k, w in weights.items()}  # pruned ones now largest
    for scope in ("layer", "global"):
        new = magnitude_masks(revived, 0.2, scope, masks=old)
        for name in weights:
            assert not (new[name] & ~old[name]).any(), (scope, name)
            assert int((~new[name]).sum()) >= int((~old[name]).sum())


def test_scores_seam_any_score_prunes_its_lowest():
    from pruning_lib.selection import select_masks

    weights = {"w": torch.tensor([[1.0, -2.0, 3.0, -4.0]])}
    scores = {"w": torch.tensor([[9.0, 1.0, 8.0, 2.0]])}  # opposite of magnitude
    assert select_masks(scores, 0.5)["w"].tolist() == [[True, False, True, False]]
    assert magnitude_masks(weights, 0.5)["w"].tolist() == [[False, False, True, True]]
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="finite and non-negative"):
            select_masks({"w": torch.tensor([1.0, bad])}, 0.5)
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    model[0].weight.data = weights["w"].clone()
    pruner = Pruner(model)
    assert pruner.prune(0.5, scores={"0.weight": scores["w"]}) == 0.5
    assert pruner.masks["0.weight"].tolist() == [[True, False, True, False]]
