import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from pruning_lib import efficiency as eff
from pruning_lib.prune import Pruner


def model():
    torch.manual_seed(0)
    return GPT2LMHeadModel(
        GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=2)
    )


def test_parameter_counts_by_hand():
    m = model()
    before = eff.parameter_counts(m)
    # GPT-2 block: c_attn 32x96, attn c_proj 32x32, c_fc 32x128, mlp c_proj 128x32.
    per_layer = 32 * 96 + 32 * 32 + 32 * 128 + 128 * 32
    assert before["prunable"] == 2 * per_layer
    tied_once = sum(p.numel() for p in m.parameters())  # parameters() yields wte once
    assert before["total"] == tied_once
    pruner = Pruner(m)
    pruner.prune(0.5)
    after = eff.parameter_counts(m)
    assert after["prunable_nonzero"] == before["prunable_nonzero"] - per_layer  # half of 2 layers
    assert after["nonzero"] == before["nonzero"] - per_layer
    assert after["sparsity"] == pytest.approx(0.5)


def test_sparse_encoding_roundtrip_exact_and_small(tmp_path):
    m = model()
    Pruner(m).prune(0.5)
    path = eff.save_sparse(m, tmp_path / "sparse.safetensors")
    state = eff.load_sparse(path)
    for name, tensor in m.state_dict().items():
        if name == "lm_head.weight":  # tied to wte, stored once
            assert torch.equal(state["transformer.wte.weight"], tensor)
            continue
        assert torch.equal(state[name], tensor), name
    sizes = eff.size_report(m)
    # At 50% fp32: 1 bit per weight + half the values = 1/32 + 1/2 of the dense bytes.
    assert sizes["prunable_sparse_bytes"] / sizes["prunable_dense_bytes"] == pytest.approx(
        1 / 32 + 1 / 2, abs=1e-3
    )
    dense = tmp_path / "dense"
    m.save_pretrained(dense)
    assert path.stat().st_size < (dense / "model.safetensors").stat().st_size


def test_encode_decode_hand_example():
    w = torch.tensor([[0.0, -1.0, 0.0], [2.0, 0.0, 3.5]])
    bits, values = eff.sparse_encode(w)
    assert bits.tolist() == [0b01010100]
    assert values.tolist() == [-1.0, 2.0, 3.5]
    assert torch.equal(eff.sparse_decode(bits, values, (2, 3)), w)


def test_latency_is_measured():
    m = model()
    result = eff.measure_latency(m, torch.zeros((1, 8), dtype=torch.long), repeats=3, warmup=1)
    assert result["repeats"] == 3 and 0 < result["min_s"] <= result["median_s"] <= result["max_s"]
    with pytest.raises(ValueError, match="repeats=0"):
        eff.measure_latency(m, torch.zeros((1, 8), dtype=torch.long), repeats=0)
