"""Reference solutions of notebook 09's exercises (09_scores_patterns)."""

import math
from statistics import mean, stdev

import torch

from pruning_lib.study.uncertainty import t95


def nm_mask(rows, n, m):
    """Exercise 1: keep the n largest |w| of every m consecutive inputs of each row."""
    groups = rows.abs().reshape(rows.shape[0], -1, m)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(2, groups.topk(n, dim=2).indices, True)
    return keep.reshape(rows.shape)


def wanda_mask(rows, norms, sparsity):
    """Exercise 2: prune the lowest |W_ij| * norms[j] of each row."""
    score = rows.abs() * norms[None, :]
    k = round(sparsity * rows.shape[1])
    keep = torch.ones_like(rows, dtype=torch.bool)
    keep.scatter_(1, score.topk(k, dim=1, largest=False).indices, False)
    return keep


def paired_interval(a, b):
    """Exercise 3: a - b paired by seed, with the seed term and the item term."""
    seeds = len(a)
    deltas = [x.count("1") / len(x) - y.count("1") / len(y) for x, y in zip(a, b)]
    seed_term = t95(seeds - 1) * stdev(deltas) / math.sqrt(seeds) if seeds > 1 else 0.0
    per_item = [
        sum(int(x[i]) - int(y[i]) for x, y in zip(a, b)) / seeds for i in range(len(a[0]))
    ] + [1.0, -1.0]  # one pseudo-item each way, as in exercise 04.3
    item_term = 1.959963984540054 * stdev(per_item) / math.sqrt(len(per_item))
    return mean(deltas), math.hypot(seed_term, item_term)
