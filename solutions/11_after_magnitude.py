"""Reference solutions of notebook 11's exercises (11_after_magnitude)."""

import torch


def reconstruct_row(X, w, keep):
    """Exercise 1: the kept weights solve the normal equations (X_K^T X_K) w_K = X_K^T X w."""
    kept = X[:, keep]
    out = torch.zeros_like(w)
    out[keep] = torch.linalg.solve(kept.T @ kept, kept.T @ (X @ w))
    return out


def influence(x_in, x_out):
    """Exercise 2: one minus the mean cosine similarity of each token's input and output."""
    dot = (x_in * x_out).sum(-1)
    cosine = dot / (x_in.norm(dim=-1) * x_out.norm(dim=-1))
    return 1.0 - float(cosine.mean())


def set_drop(weight, keep, fraction):
    """Exercise 3: drop the round(fraction * kept) smallest kept magnitudes (the pruned
    places, already zero, are not candidates)."""
    count = round(fraction * int(keep.sum()))
    magnitude = weight.abs().flatten().clone()
    magnitude[~keep.flatten()] = float("inf")
    dropped = torch.topk(magnitude, count, largest=False).indices
    mask = keep.flatten().clone()
    mask[dropped] = False
    return mask.view(keep.shape)
