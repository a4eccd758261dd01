"""L1 regularization: the penalty lambda * sum |w| over the prunable weights.

Added to the loss in the training loop, the penalty pulls small weights toward zero,
so that pruning afterwards (by threshold or rate) removes less of what the model
uses. ``recipes.l1_then_prune`` is the whole recipe: train with L1, prune, fine-tune
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

import torch
from torch import nn

from .checks import check_number
from .hooks import TrainHooks
from .weights import prunable_parameters, prunable_refs


class L1Penalty(TrainHooks):
    """Training hook that adds ``lam * sum |w|`` of the given weights to the loss.

    Args:
        weights: a model (its prunable weights are penalised; a mixture-of-experts
            stack counts once, whole) or ``{name: tensor}`` of weights that require grad.
        lam: the penalty's weight, a finite number >= 0.
    """

    def __init__(self, weights: dict[str, torch.Tensor] | nn.Module, lam: float):
        check_number("lam", lam, 0)
        if isinstance(weights, nn.Module):
            weights = {str(i): p for i, p in enumerate(prunable_parameters(prunable_refs(weights)))}
        self.weights = weights
        self.lam = float(lam)

    def penalty(self, model: nn.Module) -> torch.Tensor | None:
        if self.lam == 0:
            return None
        return self.lam * sum(w.abs().sum() for w in self.weights.values())
