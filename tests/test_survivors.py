"""Tests for the bugs a mutation run found no test for (docs/testing.md): each fails on the
planted bug named in its docstring, and each compares with a reference computed here."""

import math

import pytest
import torch
from torch import nn

from pruning_lib import Pruner
from pruning_lib.regularization import ProximalL1
from pruning_lib.scores import calibration_batches


def two_layers():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))


def test_load_replaces_the_masks_a_pruner_already_holds(tmp_path):
    """Planted bug: ``Pruner.load`` and-ing the file's masks with those already held."""
    source = Pruner(two_layers())
    source.prune(0.25)
    path = source.save(tmp_path / "masks.safetensors")
    model = two_layers()
    other = Pruner(model)
    other.prune(0.5, scores={n: torch.rand(w.shape) for n, w in other.weights.items()})
    other.load(path)
    for name, mask in source.masks.items():
        assert torch.equal(other.masks[name], mask), name
    # ...and the weights follow the loaded masks only where the file prunes.
    assert other.sparsity() >= 0.25


def test_a_rate_counts_a_live_zero_weight_as_standing_when_masks_exist():
    """Planted bug: a rate reading the zeros of the weights instead of the masks it holds
    (a live weight that is exactly 0 counted as pruned: 0.6 would become 0.7)."""
    layer = nn.Linear(10, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.arange(1.0, 11.0)[None])
    pruner = Pruner(nn.Sequential(layer))
    pruner.prune(0.2)  # 1 and 2 go: 8 stand
    with torch.no_grad():
        layer.weight[0, 9] = 0.0  # a live weight that happens to be 0 (the mask keeps it)
    sparsity = pruner.prune(0.5, of="remaining")  # half of the 8 that stand: 4 more
    assert int((~pruner.masks["0.weight"]).sum()) == 2 + 4
    assert sparsity == pytest.approx(0.6)  # 6 of 10 zero (the live 0 is pruned now)


def test_proximal_l1_of_a_model_shrinks_every_prunable_weight():
    """Planted bug: one dictionary key for every weight (only the last would shrink)."""
    model = two_layers()
    before = [layer.weight.detach().clone() for layer in (model[0], model[2])]
    ProximalL1(model, lam=0.1, step_size=0.5).after_step(0)
    for layer, old in zip((model[0], model[2]), before):
        expected = old.sign() * (old.abs() - 0.05).clamp(min=0)
        assert torch.allclose(layer.weight, expected), layer


def test_proximal_l1_in_adam_uses_the_bias_corrected_step_size():
    """Planted bug: Adam's second moment without its bias correction 1 - beta2**t."""
    layer = nn.Linear(3, 1, bias=False)
    optimizer = torch.optim.AdamW([layer.weight], lr=0.1, betas=(0.9, 0.95), eps=1e-8)
    layer.weight.grad = torch.tensor([[0.3, -0.2, 0.1]])
    optimizer.step()
    weight = layer.weight.detach().clone()
    hook = ProximalL1({"w": layer.weight}, lam=0.5)
    hook.bind(optimizer)
    hook.after_step(0)
    v_hat = optimizer.state[layer.weight]["exp_avg_sq"] / (1 - 0.95**1)
    threshold = 0.5 * 0.1 / (v_hat.sqrt() + 1e-8)
    expected = weight.sign() * (weight.abs() - threshold).clamp(min=0)
    assert torch.allclose(layer.weight, expected)


def test_calibration_batches_default_to_eight_windows_a_batch():
    """Planted bug: another default batch size than Wanda's reference setting we document."""
    stream = torch.arange(1000)
    batches = calibration_batches(stream, 20, 16, seed=0)
    assert [len(b) for b in batches] == [8, 8, 4]
    assert all(b.shape[1] == 16 for b in batches)
    for b in batches:  # each row a window of the stream
        assert bool(((b[:, 1:] - b[:, :-1]) == 1).all())


def test_a_qa_task_generates_with_the_models_own_budget(monkeypatch):
    """Planted bug: ``evaluate_task`` dropping its budget for the function's default of 8."""
    import pruning_lib.evaluation.evaluate as ev
    from pruning_lib.evaluation.tasks import to_record

    seen = []

    def generate(model, tokenizer, prompts, max_new_tokens=8, **kwargs):
        seen.append(max_new_tokens)
        return ["x"] * len(prompts)

    monkeypatch.setattr(ev, "greedy_generate", generate)
    model = type("M", (), {"config": type("C", (), {"n_positions": 2048})()})()
    records = [to_record("nq_open", {"question": "where does tomo live", "answer": ["a"]})]
    ev.evaluate_task(model, None, records)
    ev.evaluate_task(model, None, records, max_new_tokens=17)
    small = type("M", (), {"config": type("C", (), {"n_positions": 128})()})()
    ev.evaluate_task(small, None, records)
    assert seen == [256, 17, 64]  # lm-eval's 256; half the context where it is short


def test_mixture_of_experts_weights_come_in_model_order_which_decides_global_ties():
    """Planted bug: experts listed out of model order (ties then go to the wrong weight)."""
    from transformers import MixtralConfig, MixtralForCausalLM

    torch.manual_seed(0)
    config = MixtralConfig(vocab_size=32, hidden_size=8, intermediate_size=16,
                           num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                           num_local_experts=3, num_experts_per_tok=1)  # fmt: skip
    model = MixtralForCausalLM(config)
    pruner = Pruner(model, scope="global")
    names = list(pruner.weights)
    experts = [n for n in names if "[" in n]
    order = [int(n[n.index("[") + 1 : -1]) for n in experts if "gate_up_proj" in n]
    assert order == sorted(order) and len(order) == 3
    # Every score equal: the first weights in model order go first.
    ones = {n: torch.ones_like(w) for n, w in pruner.weights.items()}
    total = sum(w.numel() for w in ones.values())
    pruner.prune(0.1, scores=ones)
    pruned = [n for n in names if not bool(pruner.masks[n].all())]
    assert pruned == names[: len(pruned)]
    count = sum(int((~pruner.masks[n]).sum()) for n in names)
    assert count == round(0.1 * total) and not math.isnan(pruner.sparsity())
