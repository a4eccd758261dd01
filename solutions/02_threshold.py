"""Reference solutions of notebook 02's exercises (02_threshold)."""

import torch


def threshold_for(magnitudes, sparsity):
    """Exercise 1: the threshold below which ``sparsity`` of the magnitudes lie."""
    k = round(sparsity * magnitudes.numel())
    ordered = torch.sort(magnitudes.flatten()).values
    return float(ordered[k]) if k < len(ordered) else float(ordered[-1]) + 1.0


def layerwise_masks(weights, sparsity):
    """Exercise 2: layer-wise magnitude pruning in plain PyTorch."""
    masks = {}
    for name, w in weights.items():
        k = round(sparsity * w.numel())
        keep = torch.ones(w.numel(), dtype=torch.bool)
        keep[w.abs().flatten().topk(k, largest=False).indices] = False
        masks[name] = keep.view(w.shape)
    return masks


def sparsity_without_attention(d, m, sparsity):
    """Exercise 3: the sparsity of all block matrices when only the MLP's are pruned."""
    attention, mlp = 4 * d * d, 2 * d * m  # q, k, v and output; up and down
    return sparsity * mlp / (attention + mlp)
