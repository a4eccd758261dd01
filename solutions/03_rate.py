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


def allocate(falls, sizes, target):
    """Exercise 4: prune each weight in proportion to how little it costs alone.

    A weight's tolerance is one over (a small floor plus its fall at the highest scanned
    sparsity); the sparsities are a common factor times the tolerance, capped at 0.95, with
    the factor found by bisection so that the total is ``target`` of all the weights.
    """
    highest = max(next(iter(falls.values())))
    tolerance = {n: 1.0 / (0.01 + max(f[highest], 0.0)) for n, f in falls.items()}
    total = sum(sizes.values())

    def allocation(scale):
        return {n: min(0.95, scale * t) for n, t in tolerance.items()}

    def pruned(scale):
        return sum(s * sizes[n] for n, s in allocation(scale).items()) / total

    low, high = 0.0, 1.0
    while pruned(high) < target:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if pruned(middle) < target else (low, middle)
    return allocation(high)
