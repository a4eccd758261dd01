"""Reference solutions of notebook 07's exercises (07_results)."""

import math
from statistics import mean, stdev

from pruning_lib.study.uncertainty import t95


def retention_by_seed(pruned_values, dense_values):
    """Exercise 1: each seed's pruned score over its own dense score, averaged."""
    return mean(p / d for p, d in zip(pruned_values, dense_values))


def paired_fall(dense, pruned):
    """Exercise 2: the fall paired by seed and its 95% half-width over seeds."""
    deltas = [d - p for d, p in zip(dense, pruned)]
    k = len(deltas)
    half = t95(k - 1) * stdev(deltas) / math.sqrt(k) if k > 1 else 0.0  # none with one seed
    return mean(deltas), half


def fall_slopes(sparsities, scores):
    """Exercise 3: the fall of the score per unit of sparsity between neighbours."""
    pairs = zip(sparsities, sparsities[1:], scores, scores[1:])
    return [(v0 - v1) / (s1 - s0) for s0, s1, v0, v1 in pairs]
