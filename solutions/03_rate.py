"""Reference solutions of notebook 03's exercises (03_rate)."""

import torch


def iterative_trace(sparsity, iterations, steps):
    """Exercise 1: (first step of each round, sparsity after its pruning)."""
    sizes = [steps // iterations + (i < steps % iterations) for i in range(iterations)]
    starts = [sum(sizes[:i]) for i in range(iterations)]
    return [(start, 1 - (1 - sparsity) ** (i / iterations)) for i, start in enumerate(starts, 1)]


def rate_per_round(sparsity, rounds):
    """Exercise 2: the fraction of the remaining weights pruned in each round."""
    return 1 - (1 - sparsity) ** (1 / rounds)


def global_layer_sparsity(weights, sparsity):
    """Exercise 3: the sparsity one global |w| cut-off gives each matrix."""
    every = torch.cat([w.abs().flatten() for w in weights.values()])
    k = round(sparsity * every.numel())
    cutoff = every.kthvalue(k).values  # the k-th smallest |w| of all
    return {name: (w.abs() <= cutoff).float().mean().item() for name, w in weights.items()}
