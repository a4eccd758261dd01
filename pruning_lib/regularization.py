"""L1 regularization: the penalty lambda * sum |w| over the prunable weights.

Added to the loss in the training loop, the penalty pulls small weights toward zero,
so that pruning afterwards (by threshold or rate) removes less of what the model
uses. :func:`l1_then_prune` is the whole recipe: train with L1, prune, fine-tune
with the masks held.

Example:
    >>> import torch
    >>> from torch import nn
    >>> layer = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    >>> float(L1Penalty({"w": layer.weight}, 0.5).penalty(layer).detach())
    1.5
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import TrainConfig
from .finetune import TrainHooks, TrainResult, train
from .prune import Pruner, prunable_weights


class L1Penalty(TrainHooks):
    """Training hook that adds ``lam * sum |w|`` of the given weights to the loss."""

    def __init__(self, weights: dict[str, torch.Tensor] | nn.Module, lam: float):
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or lam < 0:
            raise ValueError(f"lam={lam!r} is out of range; allowed: [0, inf)")
        if isinstance(weights, nn.Module):
            weights = prunable_weights(weights)
        self.weights = weights
        self.lam = float(lam)

    def penalty(self, model: nn.Module) -> torch.Tensor | None:
        if self.lam == 0:
            return None
        return self.lam * sum(w.abs().sum() for w in self.weights.values())


@dataclass
class L1Result:
    l1_training: TrainResult
    sparsity_after_pruning: float
    finetuning: TrainResult | None = None
    pruner: Pruner | None = None


def l1_then_prune(
    model: nn.Module,
    stream: torch.Tensor,
    block_size: int,
    lam: float,
    l1_config: TrainConfig,
    finetune_config: TrainConfig | None = None,
    sparsity: float | None = None,
    threshold: float | None = None,
    q: float | None = None,
    scope: str = "layer",
    device: str = "auto",
    progress: bool = True,
) -> L1Result:
    """Train with the L1 penalty, prune (by ``sparsity``, ``threshold`` or ``q``), fine-tune.

    Exactly one of ``sparsity`` (magnitude), ``threshold`` (absolute) or ``q`` (times
    each layer's standard deviation) says how to prune. Every argument is checked
    before training starts.
    """
    given = [x is not None for x in (sparsity, threshold, q)]
    if sum(given) != 1:
        raise ValueError("give exactly one of sparsity=, threshold= or q= to prune after L1")
    penalty = L1Penalty(model, lam)  # validates lam
    pruner = Pruner(model, scope=scope)  # validates scope and that weights exist
    if sparsity is not None and not 0 <= sparsity < 1:
        raise ValueError(f"sparsity={sparsity!r} is out of range; allowed: [0, 1)")
    if threshold is not None and threshold < 0:
        raise ValueError(f"threshold={threshold!r} is out of range; allowed: [0, inf)")
    if q is not None and q < 0:
        raise ValueError(f"q={q!r} is out of range; allowed: [0, inf)")
    l1_result = train(model, stream, l1_config, block_size, penalty, device, progress)
    if sparsity is not None:
        achieved = pruner.prune_magnitude(sparsity)
    else:
        achieved = pruner.prune_threshold(threshold=threshold, q=q)
    result = L1Result(l1_result, achieved, pruner=pruner)
    if finetune_config is not None and finetune_config.steps > 0:
        result.finetuning = train(
            model, stream, finetune_config, block_size, pruner, device, progress
        )
    return result
