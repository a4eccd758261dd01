"""Per-layer sparsity, chosen: how one total sparsity is shared among the prunable weights.

An *allocation* is ``{name: sparsity}`` for every prunable weight. Four allocators:

- :func:`uniform`: every weight at the total (``Pruner.prune(s)``, layer scope);
- :func:`global_`: what one threshold over all weights reaches in each (global scope);
- :func:`from_sensitivity`: the weights whose pruning alone hurts least (notebook 03's
  scan) get more sparsity, those that hurt most get less;
- :func:`owl`: Outlier-Weighed Layerwise sparsity (Yin et al., 2023, arXiv 2310.05175):
  transformer blocks with more activation outliers (Wanda scores above ``m`` times their
  block's mean) keep more weights; the sparsities are linear in the outlier share and span
  ``2 * lam``, shifted so that their mean is the total (not centred on it: OWL's rule).

Every allocator returns sparsities whose size-weighted mean is the total, and
:func:`counts` turns an allocation into whole numbers of weights that add up to exactly
``round(total * N)``: two allocations at the same total prune the same number of weights,
so their comparison is at equal size. ``Pruner.prune_allocation`` prunes them.

Example:
    >>> sizes = {"a": 100, "b": 300}
    >>> spread({"a": 1.0, "b": 0.0}, sizes, 0.5, lam=0.1)  # "a" matters more: kept more
    {'a': 0.35, 'b': 0.55}
    >>> counts(sizes, {"a": 0.35, "b": 0.55})  # 35 + 165 = 200 = 0.5 * 400
    {'a': 35, 'b': 165}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch

from .checks import check_fraction, check_number
from .selection import select_masks

# A sparsity below 1: a layer pruned entirely would cut the model in two.
MAX_LAYER_SPARSITY = 0.99


def _check_names(what: str, given: Mapping[str, object], sizes: Mapping[str, int]) -> None:
    missing = [name for name in sizes if name not in given]
    extra = [name for name in given if name not in sizes]
    if missing or extra:
        raise ValueError(
            f"{what} must name every prunable weight and no other: "
            f"missing {missing[:3]}, unknown {extra[:3]}"
        )


def mean_sparsity(allocation: Mapping[str, float], sizes: Mapping[str, int]) -> float:
    """The size-weighted mean of ``allocation``: the sparsity of the whole."""
    _check_names("allocation", allocation, sizes)
    return sum(allocation[n] * sizes[n] for n in sizes) / sum(sizes.values())


def counts(
    sizes: Mapping[str, int], allocation: Mapping[str, float], total: float | None = None
) -> dict[str, int]:
    """How many weights of each layer to prune: ``allocation[name] * sizes[name]`` made
    whole by the largest remainders, so that they add up to exactly ``round(total * N)``
    (``total``: default the allocation's size-weighted mean).

    Raises:
        ValueError: a layer's sparsity outside [0, 1), or an allocation whose counts
            cannot reach the total (its mean is off by more than a weight per layer).
    """
    _check_names("allocation", allocation, sizes)
    for name, value in allocation.items():
        check_fraction(f"allocation[{name!r}]", value)
    total = mean_sparsity(allocation, sizes) if total is None else total
    check_fraction("total", total)
    target = round(total * sum(sizes.values()))
    exact = {name: allocation[name] * sizes[name] for name in sizes}
    whole = {name: math.floor(exact[name]) for name in sizes}
    short = target - sum(whole.values())
    if not 0 <= short <= len(sizes):
        raise ValueError(
            f"the allocation prunes {sum(exact.values()):.1f} weights, total={total!r} asks "
            f"for {target}: its size-weighted mean must be the total"
        )
    order = sorted(sizes, key=lambda name: whole[name] - exact[name])  # largest remainder
    for name in order[:short]:
        whole[name] += 1
    return whole


def uniform(sizes: Mapping[str, int], sparsity: float) -> dict[str, float]:
    """Every weight at ``sparsity``."""
    check_fraction("sparsity", sparsity)
    return {name: float(sparsity) for name in sizes}


def global_(scores: Mapping[str, torch.Tensor], sparsity: float) -> dict[str, float]:
    """The sparsity of each weight when one threshold over all of them prunes ``sparsity``
    of the whole by ``scores`` (e.g. ``selection.MagnitudeScores``)."""
    masks = select_masks(scores, sparsity, "global")
    return {name: float((~mask).sum()) / mask.numel() for name, mask in masks.items()}


def shift_to_mean(
    values: Mapping[str, float],
    sizes: Mapping[str, int],
    total: float,
    high: float = MAX_LAYER_SPARSITY,
) -> dict[str, float]:
    """``values`` moved by one constant and clipped to [0, ``high``], so that their
    size-weighted mean is ``total`` (bisection: the clipped mean grows with the shift)."""
    check_fraction("total", total)
    if total > high:
        raise ValueError(f"total={total!r} is above the largest layer sparsity {high}")

    def mean_at(shift: float) -> float:
        clipped = {n: min(max(values[n] + shift, 0.0), high) for n in sizes}
        return mean_sparsity(clipped, sizes)

    if abs(mean_at(0.0) - total) < 1e-12:  # already there: keep the values as they are
        return {n: min(max(values[n], 0.0), high) for n in sizes}
    low_shift, high_shift = -1.0 - max(values.values()), 1.0 - min(values.values())
    for _ in range(100):
        middle = (low_shift + high_shift) / 2
        if mean_at(middle) < total:
            low_shift = middle
        else:
            high_shift = middle
    return {n: min(max(values[n] + high_shift, 0.0), high) for n in sizes}


def spread(
    importance: Mapping[str, float],
    sizes: Mapping[str, int],
    sparsity: float,
    lam: float = 0.08,
) -> dict[str, float]:
    """Sparsities linear in ``importance`` over a range of ``2 * lam``: the most important
    weight gets the least sparsity (OWL's rule). They are shifted so that their
    size-weighted mean is ``sparsity`` (and shifted again if a bound clips them), so the
    range need not be centred on ``sparsity``."""
    check_fraction("sparsity", sparsity)
    check_number("lam", lam, 0)
    _check_names("importance", importance, sizes)
    low, high = min(importance.values()), max(importance.values())
    width = high - low
    scaled = {
        n: (importance[n] - low) / width * 2 * lam if width > 0 else 0.0 for n in sizes
    }  # in [0, 2 lam]
    centre = mean_sparsity(scaled, sizes)
    values = {n: sparsity - (scaled[n] - centre) for n in sizes}
    return shift_to_mean(values, sizes, sparsity)


def from_sensitivity(
    drops: Mapping[str, float], sizes: Mapping[str, int], sparsity: float, lam: float = 0.08
) -> dict[str, float]:
    """From a sensitivity scan (``drops[name]``: the score lost when that weight alone is
    pruned, notebook 03): the weights that lose most are pruned least (:func:`spread`)."""
    return spread(drops, sizes, sparsity, lam)


def block_of(name: str) -> str:
    """The transformer block a weight belongs to: its name up to the first number
    (``transformer.h.3.mlp.c_fc.weight`` -> ``transformer.h.3``); a name without one is its
    own block."""
    match = re.search(r"^(.*?\.\d+)(\.|$)", name)
    return match.group(1) if match else name


def outlier_ratios(
    scores: Mapping[str, torch.Tensor], m: float = 5.0, group=block_of
) -> dict[str, float]:
    """OWL's layerwise outlier distribution: the share (in %) of the scores of each group
    (default: each transformer block, every weight of it together) above ``m`` times the
    group's mean score. ``scores``: Wanda's ``|w| * ||x||`` (``scores.wanda_scores``)."""
    check_number("m", m, 0, low_open=True)
    grouped: dict[str, list[torch.Tensor]] = {}
    for name, score in scores.items():
        grouped.setdefault(group(name), []).append(score.detach().float().flatten())
    ratios = {}
    for key, parts in grouped.items():
        every = torch.cat(parts)
        ratios[key] = 100.0 * float((every > m * every.mean()).sum()) / every.numel()
    return ratios


def owl(
    scores: Mapping[str, torch.Tensor],
    sparsity: float,
    m: float = 5.0,
    lam: float = 0.08,
    group=block_of,
) -> dict[str, float]:
    """OWL's allocation: each group's sparsity from its outlier ratio (:func:`spread`,
    more outliers: fewer pruned), the same for every weight of the group."""
    ratios = outlier_ratios(scores, m, group)
    sizes = {key: 0 for key in ratios}
    for name, score in scores.items():
        sizes[group(name)] += score.numel()
    per_group = spread(ratios, sizes, sparsity, lam)
    return {name: per_group[group(name)] for name in scores}
