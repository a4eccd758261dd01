"""Mixture-of-experts models: every expert's matrix is pruned, and nothing is half-covered."""

import warnings

import pytest
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM

from pruning_lib import Pruner
from pruning_lib.config import TrainConfig
from pruning_lib.training import finetune

SMALL = dict(
    vocab_size=64,
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=2,
    max_position_embeddings=32,
)
MOE = {
    "mixtral": dict(num_local_experts=4, num_experts_per_tok=2),
    "qwen2_moe": dict(
        num_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=24,
        shared_expert_intermediate_size=24,
    ),
    "qwen3_moe": dict(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=24),
    "olmoe": dict(num_experts=4, num_experts_per_tok=2),
}


def tiny(kind: str):
    torch.manual_seed(0)
    config = AutoConfig.for_model(kind, **SMALL, **MOE[kind])
    return AutoModelForCausalLM.from_config(config)


def block_matrices(model) -> int:
    """Weights of the blocks with two or more dimensions, routers aside (counted by hand)."""
    total = 0
    for name, param in model.named_parameters():
        router = name.endswith(".gate.weight") or name.endswith(".shared_expert_gate.weight")
        if param.ndim < 2 or "embed" in name or "lm_head" in name or router:
            continue
        total += param.numel()
    return total


@pytest.mark.parametrize("kind", sorted(MOE))
def test_every_expert_matrix_is_pruned_to_the_target(kind):
    model = tiny(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left out: no warning
        pruner = Pruner(model)
    experts = [n for n in pruner.weights if ".experts." in n]
    assert experts and all(n.endswith("]") for n in experts)
    assert pruner.coverage()["uncovered"] == []
    assert pruner.coverage()["prunable_parameters"] == block_matrices(model)
    assert pruner.prune(0.5) == pytest.approx(0.5, abs=0.01)
    for row in pruner.report()[:-1]:  # each expert's matrix is a layer of its own
        assert row["total"] - row["nonzero"] == round(0.5 * row["total"]), row["name"]
    stacked = dict(model.named_parameters())
    name = experts[0].rsplit("[", 1)[0]
    assert (stacked[name] == 0).float().mean().item() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("kind", ["mixtral", "qwen3_moe"])
def test_expert_masks_hold_through_training(kind):
    model = tiny(kind)
    pruner = Pruner(model)
    pruner.prune(0.5)
    stream = torch.randint(0, 64, (2000,), generator=torch.Generator().manual_seed(0))
    config = TrainConfig(steps=4, batch_size=2, learning_rate=1e-2, warmup_steps=0, log_every=2)
    finetune.train(model, stream, config, 16, hooks=pruner, device="cpu", progress=False)
    for name, weight in pruner.weights.items():
        assert (weight[~pruner.masks[name]] == 0).all(), name
    assert pruner.sparsity() == pytest.approx(0.5, abs=0.01)


class HalfCovered(nn.Module):
    """A block whose second matrix is a bare parameter, not an nn.Linear."""

    def __init__(self):
        super().__init__()
        self.up = nn.Linear(4, 8)
        self.down_weight = nn.Parameter(torch.randn(4, 8))

    def forward(self, x):
        return nn.functional.linear(self.up(x), self.down_weight)


def test_a_partly_covered_model_warns_naming_what_is_left_out():
    with pytest.warns(UserWarning, match=r"1 matrices .*down_weight"):
        pruner = Pruner(HalfCovered())
    assert pruner.coverage()["uncovered"] == ["down_weight"]


class ParallelExperts(nn.Module):
    """GraniteMoE-style: the stack is named by its class, not by an `experts` attribute."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(3, 4, 5))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_linear = ParallelExperts()
        self.kernel = nn.Parameter(torch.randn(2, 3, 4))  # a 3-D tensor that is no stack


def test_expert_stacks_by_class_name_and_other_3d_tensors_left_out():
    with pytest.warns(UserWarning, match="kernel"):
        pruner = Pruner(Block())
    assert list(pruner.weights) == [f"input_linear.weight[{e}]" for e in range(3)]
    assert Pruner(Block(), include=[r"weight\[1\]"]).coverage()["prunable_weights"] == 1


def test_each_expert_is_named_once():
    model = tiny("mixtral")
    names = list(Pruner(model).weights)
    experts = [n for n in names if ".experts." in n]
    assert len(names) == len(set(names))
    assert len(experts) == 2 * 2 * 4  # layers x (gate_up_proj, down_proj) x experts
