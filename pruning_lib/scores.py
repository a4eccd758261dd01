"""Importance scores beyond magnitude: activation-aware (Wanda) and random (the control).

A score is ``{name: non-negative tensor shaped like the weight}``; the lowest are pruned by
``Pruner.prune(sparsity, scores)`` or by a pattern (``Pruner.prune_pattern``).

- :func:`wanda_scores`: Sun et al. 2023, "A Simple and Effective Pruning Approach for Large
  Language Models": ``|W_ij| * ||X_j||_2``, the weight's magnitude times the L2 norm of its
  input feature over calibration tokens. Wanda compares scores within each output row:
  use it with ``patterns.RowWise(sparsity)``.
- :func:`random_scores`: uniform noise, the control every comparison needs.

Example:
    >>> import torch
    >>> from torch import nn
    >>> layer = nn.Linear(2, 1, bias=False)
    >>> _ = layer.weight.data.copy_(torch.tensor([[1.0, 1.0]]))
    >>> from pruning_lib import Pruner
    >>> pruner = Pruner(nn.Sequential(layer))
    >>> norms = input_norms(pruner, nn.Sequential(layer), [torch.tensor([[3.0, 0.0], [4.0, 1.0]])])
    >>> wanda_scores(pruner, norms)["0.weight"]
    tensor([[5., 1.]])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from .checks import check_number


def random_scores(weights: Mapping[str, torch.Tensor], seed: int = 0) -> dict[str, torch.Tensor]:
    """Uniform [0, 1) scores, the same for the same ``seed`` (on the CPU, then moved)."""
    check_number("seed", seed, 0, 2**63 - 1, integer=True)
    generator = torch.Generator().manual_seed(seed)
    return {
        name: torch.rand(w.shape, generator=generator).to(w.device) for name, w in weights.items()
    }


@torch.no_grad()
def input_norms(pruner, model: nn.Module, batches: Iterable) -> dict[str, torch.Tensor]:
    """The L2 norm of each input feature of each prunable weight, over calibration batches.

    Args:
        pruner: the ``Pruner`` whose weights are scored (its ``refs`` and ``input_axes``).
        model: the model those weights belong to; it is run on each batch in eval mode.
        batches: tensors of token ids (B, T) for a language model, or inputs of ``model``.

    Returns:
        ``{name: (in_features,) tensor}``.
    """
    experts = [name for name, (_, index) in pruner.refs.items() if index is not None]
    if experts:
        raise ValueError(
            f"activation-aware scores need each weight's own input; {experts[0]} is one "
            "expert's matrix inside a fused experts module, whose inputs no hook can see"
        )
    owners = {}
    for module in model.modules():
        weight = getattr(module, "weight", None)
        for name, (param, _) in pruner.refs.items():
            if weight is param:
                owners[name] = module
    sums: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(module, inputs, output):
            x = inputs[0].detach().float()
            x = x.reshape(-1, x.shape[-1])  # (tokens, in_features)
            total = (x * x).sum(0)
            sums[name] = total if name not in sums else sums[name] + total

        return hook

    handles = [owners[name].register_forward_hook(hook_for(name)) for name in owners]
    was_training = model.training
    model.eval()
    count = 0
    device = next(model.parameters()).device  # calibration data comes from the CPU
    try:
        for batch in batches:
            if isinstance(batch, dict):
                model(**{k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()})
            else:
                model(batch.to(device) if torch.is_tensor(batch) else batch)
            count += 1
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if count == 0:
        raise ValueError("calibration data is empty: activation-aware scores need batches")
    return {name: total.sqrt() for name, total in sums.items()}


def wanda_scores(pruner, norms: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``|W| * ||X_j||_2`` for every prunable weight (``norms`` from :func:`input_norms`)."""
    missing = [name for name in pruner.refs if name not in norms]
    if missing:
        raise ValueError(f"no calibration input reached {missing[0]}: is it used in forward?")
    scores = {}
    for name, weight in pruner.weights.items():
        norm = norms[name].to(weight.device)
        along = norm[:, None] if pruner.input_axes[name] == 0 else norm[None, :]
        scores[name] = weight.detach().abs().float() * along
    return scores


def calibration_batches(
    stream: torch.Tensor, sequences: int, block_size: int, batch_size: int = 8, seed: int = 0
) -> list[torch.Tensor]:
    """``sequences`` random windows of ``block_size`` tokens from a token stream, batched
    (Wanda uses 128 sequences of the training corpus)."""
    check_number("sequences", sequences, 1, integer=True)
    check_number("block_size", block_size, 1, integer=True)
    check_number("batch_size", batch_size, 1, integer=True)
    if len(stream) < block_size:
        raise ValueError(
            f"the calibration stream has {len(stream)} tokens, fewer than block_size={block_size}"
        )
    generator = torch.Generator().manual_seed(seed)
    last = len(stream) - block_size  # the last window that fits starts here
    starts = torch.randint(0, last + 1, (sequences,), generator=generator)
    windows = torch.stack([stream[s : s + block_size] for s in starts.tolist()])
    return list(windows.split(batch_size))
