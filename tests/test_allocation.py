"""Per-layer allocation: exact totals, PyTorch's own masks, OWL's published numbers."""

import random

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from pruning_lib import allocation
from pruning_lib.prune import Pruner

# OWL on a 32-block model at total sparsity 0.4, lam = 0.02: the outlier ratios (in %) and
# the sparsities they gave, as printed by a debug comment in Neural Magic's OWL code (the
# `_infer_layer_sparsity` of its SparseGPT modifier). Test data only: an independent
# computation of OWL's formula by other people, on a real model.
OWL_RATIOS = [1.2220837291658233, 1.2492135398746154, 1.478302911155582, 1.9342516370387892,
              1.4717121816052057, 1.3769110249731824, 1.5513978473880747, 1.4558930471153457,
              1.3137486314526494, 1.2885691588406736, 1.2739295168861824, 1.249576232593912,
              1.2503940206735245, 1.1581193597823227, 1.1089843789530542, 0.9560762909409913,
              0.8759597422545438, 0.7874884135982533, 0.7319524498183493, 0.6658909852022952,
              0.6364891566143135, 0.6336404869593487, 0.613886087051945, 0.5999594772417929,
              0.5670468424268337, 0.5980402694464965, 0.5311970883700514, 0.49776907411881677,
              0.4965362153522709, 0.44302668596178757, 0.4447037691897061,
              0.5180408299895766]  # fmt: skip
OWL_SPARSITIES = [0.39318857942475305, 0.39246086062715113, 0.3863158622856062,
                  0.37408568264560194, 0.38649264928331883, 0.3890355562153295,
                  0.3843551940127289, 0.38691697519010937, 0.39072979807937325,
                  0.3914052018162485, 0.3917978895041502, 0.39245113190797876,
                  0.39242919589949066, 0.3949043331569396, 0.3962223095170798,
                  0.4003238526920817, 0.4024728657870835, 0.4048459840370805,
                  0.4063356577107886, 0.40810766305628243, 0.4088963255197625,
                  0.4089727370538615, 0.4095026208891108, 0.4098761824983126,
                  0.4107590173728548, 0.40992766253273416, 0.4117206363165532,
                  0.412617295515478, 0.41265036520803255, 0.41408568264560197,
                  0.4140406972602191, 0.41207353433830296]  # fmt: skip


def test_owl_rule_gives_the_published_sparsities():
    names = [f"model.layers.{i}" for i in range(32)]
    sizes = dict.fromkeys(names, 1000)  # OWL's blocks are of equal size
    got = allocation.spread(dict(zip(names, OWL_RATIOS)), sizes, 0.4, lam=0.02)
    assert [got[n] for n in names] == pytest.approx(OWL_SPARSITIES, abs=1e-12)


def test_outlier_ratio_by_hand():
    # Block 0: scores 1..9 and 100 -> mean 14.5, above 5 * 14.5 = 72.5: one of ten = 10 %.
    scores = {
        "h.0.attn.weight": torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]),
        "h.0.mlp.weight": torch.tensor([[6.0, 7.0, 8.0, 9.0, 100.0]]),
        "h.1.mlp.weight": torch.ones(2, 5),  # no outlier
    }
    assert allocation.outlier_ratios(scores, m=5) == {"h.0": 10.0, "h.1": 0.0}
    owl = allocation.owl(scores, 0.5, m=5, lam=0.1)
    # Equal-size blocks: the block with outliers keeps more (0.5 - 0.1), the other less.
    assert owl["h.0.attn.weight"] == owl["h.0.mlp.weight"] == pytest.approx(0.4)
    assert owl["h.1.mlp.weight"] == pytest.approx(0.6)


def test_block_of_reads_the_first_index():
    assert allocation.block_of("transformer.h.3.mlp.c_fc.weight") == "transformer.h.3"
    assert allocation.block_of("model.layers.12.self_attn.q_proj.weight") == "model.layers.12"
    assert allocation.block_of("lm_head.weight") == "lm_head.weight"


def test_counts_reach_the_total_exactly_and_each_within_one_weight():
    draw = random.Random(0)
    for _ in range(300):
        sizes = [draw.randint(1, 500) for _ in range(draw.randint(1, 8))]
        names = [f"w{i}" for i in range(len(sizes))]
        size = dict(zip(names, sizes))
        given_ = {name: draw.uniform(0, 0.98) for name in names}
        total = allocation.mean_sparsity(given_, size)
        number = allocation.counts(size, given_)
        assert sum(number.values()) == round(total * sum(sizes))
        for name in names:
            assert abs(number[name] - given_[name] * size[name]) < 1 + 1e-9
            assert 0 <= number[name] <= size[name]


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8), nn.Linear(8, 24))


def _torch_masks(model, method, amount):
    """The masks torch.nn.utils.prune makes (the reference), by name of our pruner."""
    layers = [m for m in model if isinstance(m, nn.Linear)]
    names = [f"{i}.weight" for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    if method == "global":
        torch_prune.global_unstructured(
            [(m, "weight") for m in layers], torch_prune.L1Unstructured, amount=amount
        )
    else:
        for m in layers:
            torch_prune.l1_unstructured(m, "weight", amount)
    return {name: m.weight_mask.bool() for name, m in zip(names, layers)}


@pytest.mark.parametrize("method", ["layer", "global"])
def test_uniform_and_global_allocations_give_torch_prunes_masks(method):
    ours = _model()
    pruner = Pruner(ours)
    sizes = {n: w.numel() for n, w in pruner.weights.items()}
    from pruning_lib.selection import MagnitudeScores

    chosen = (
        allocation.uniform(sizes, 0.6)
        if method == "layer"
        else allocation.global_(MagnitudeScores(pruner.weights), 0.6)
    )
    pruner.prune_allocation(chosen)
    reference = _torch_masks(_model(), method, 0.6)
    for name, mask in reference.items():
        assert torch.equal(pruner.masks[name], mask), name


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.7])
def test_every_allocator_prunes_the_same_number_of_weights(sparsity):
    pruner = Pruner(_model())
    sizes = {n: w.numel() for n, w in pruner.weights.items()}
    total = sum(sizes.values())
    weights = pruner.weights
    from pruning_lib.selection import MagnitudeScores

    drops = {name: float(i) for i, name in enumerate(sizes)}  # later layers more sensitive
    norms = {name: torch.rand(w.shape[1]) for name, w in weights.items()}
    wanda = {name: w.detach().abs() * norms[name] for name, w in weights.items()}
    allocations = {
        "uniform": allocation.uniform(sizes, sparsity),
        "global": allocation.global_(MagnitudeScores(weights), sparsity),
        "sensitivity": allocation.from_sensitivity(drops, sizes, sparsity, lam=0.1),
        "owl": allocation.owl(wanda, sparsity, group=lambda name: name),
    }
    for kind, chosen in allocations.items():
        fresh = Pruner(_model())
        fresh.prune_allocation(chosen)
        zeros = sum(int((~m).sum()) for m in fresh.masks.values())
        assert zeros == round(sparsity * total), kind
    sensitivity = allocations["sensitivity"]
    order = list(sizes)
    assert sensitivity[order[0]] > sensitivity[order[-1]]  # the least sensitive pruned most


def test_a_clipped_spread_is_shifted_back_to_the_total():
    sizes = {"a": 10, "b": 10, "c": 1000}
    chosen = allocation.spread({"a": 0.0, "b": 0.0, "c": 1.0}, sizes, 0.05, lam=0.2)
    assert min(chosen.values()) >= 0
    assert allocation.mean_sparsity(chosen, sizes) == pytest.approx(0.05, abs=1e-12)


def test_allocations_refuse_bad_input_by_name():
    sizes = {"a": 10, "b": 10}
    with pytest.raises(ValueError, match="missing \\['b'\\]"):
        allocation.counts(sizes, {"a": 0.5})
    with pytest.raises(ValueError, match="allocation\\['a'\\]"):
        allocation.counts(sizes, {"a": 1.0, "b": 0.0})
    with pytest.raises(ValueError, match="size-weighted mean"):
        allocation.counts(sizes, {"a": 0.5, "b": 0.5}, total=0.9)
    with pytest.raises(ValueError, match="lam"):
        allocation.spread({"a": 1.0, "b": 0.0}, sizes, 0.5, lam=-0.1)
    with pytest.raises(ValueError, match="m="):
        allocation.outlier_ratios({"a": torch.ones(2, 2)}, m=0)
    pruner = Pruner(_model())
    with pytest.raises(ValueError, match="every prunable weight"):
        pruner.prune_allocation({"0.weight": 0.5})
    assert pruner.masks == {}  # nothing pruned before the refusal
