"""Reference solutions of notebook 01's exercises (01_baseline)."""

import math
from statistics import mean, stdev

import torch

from pruning_lib.study.uncertainty import t95


def gpt2_parameters(d, layers, vocab, positions):
    """Exercise 1: a GPT-2's parameter count by hand."""
    block = 4 * d * d + 4 * d + 8 * d * d + 5 * d + 4 * d  # attention, MLP, two layer norms
    return layers * block + vocab * d + positions * d + 2 * d  # embeddings, final layer norm


def keep_mask(magnitudes, sparsity):
    """Exercise 2: keep all but the round(sparsity * n) smallest, ties pruned first-come."""
    k = round(sparsity * magnitudes.numel())
    order = torch.sort(magnitudes.flatten(), stable=True).indices  # ties keep their order
    keep = torch.ones(magnitudes.numel(), dtype=torch.bool)
    keep[order[:k]] = False
    return keep.view(magnitudes.shape)


def seed_interval(values, n_items):
    """Exercise 3: the 95% interval of 07_results over seeds and items."""
    k, centre = len(values), mean(values)
    seeds = t95(k - 1) * stdev(values) / math.sqrt(k) if k > 1 else 0.0
    q = (centre * n_items + 2) / (n_items + 4)  # Agresti and Coull
    items = 1.959963984540054 * math.sqrt(q * (1 - q) / (n_items + 4))
    half = math.hypot(seeds, items)
    return max(centre - half, 0.0), min(centre + half, 1.0)
