"""L1 regularization: the penalty lambda * sum |w| over the prunable weights.

Added to the loss in the training loop, the penalty pulls small weights toward zero,
so that pruning afterwards (by threshold or rate) removes less of what the model
uses. Under AdamW it almost never makes a weight exactly zero: the step of a weight is
about its gradient's sign times the learning rate, so it oscillates around zero.
:class:`ProximalL1` takes the other road (the proximal, or soft-threshold, step of ISTA
and of Distiller's regularizers): after every optimizer step each weight moves toward
zero by lam times its own step size and stops at zero, so weights reach exact zeros.
``recipes.l1_then_prune`` is the whole recipe: train with L1 (either form), prune,
fine-tune with the masks held.

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


class ProximalL1(TrainHooks):
    """Training hook: after each optimizer step, soft-threshold the weights,
    ``w <- sign(w) * max(|w| - t, 0)``: the proximal step of ``lam * sum |w|``.

    The threshold ``t`` is ``lam`` times the step the optimizer just took per unit of
    gradient: ``lam * step_size`` for plain gradient steps (ISTA), and, once bound to an
    Adam-type optimizer (the training loop does this), ``lam * lr / (sqrt(v_hat) + eps)``
    for each weight, Adam's own per-weight step size (the proximal step in Adam's metric).

    Args:
        weights: a model (its prunable weights) or ``{name: parameter}``.
        lam: the penalty's weight, a finite number >= 0.
        step_size: the step size of plain gradient steps, > 0 (unused once bound to Adam).

    Example:
        >>> layer = nn.Linear(3, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[0.5, -0.05, 0.2]]))
        >>> ProximalL1({"w": layer.weight}, lam=1.0, step_size=0.1).after_step(0)
        >>> layer.weight.tolist()
        [[0.4000000059604645, -0.0, 0.10000000149011612]]
    """

    def __init__(
        self, weights: dict[str, torch.Tensor] | nn.Module, lam: float, step_size: float = 1.0
    ):
        check_number("lam", lam, 0)
        check_number("step_size", step_size, 0, low_open=True)
        if isinstance(weights, nn.Module):
            weights = {str(i): p for i, p in enumerate(prunable_parameters(prunable_refs(weights)))}
        self.weights = weights
        self.lam = float(lam)
        self.step_size = float(step_size)
        self.optimizer: torch.optim.Optimizer | None = None

    def bind(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def _threshold(self, weight: torch.Tensor) -> torch.Tensor | float:
        """Adam's per-weight step size times lam, or lam * step_size."""
        if self.optimizer is None:
            return self.lam * self.step_size
        state = self.optimizer.state.get(weight, {})
        if "exp_avg_sq" not in state:
            return self.lam * self.step_size
        group = next(
            g for g in self.optimizer.param_groups if any(p is weight for p in g["params"])
        )
        beta2, eps = group["betas"][1], group["eps"]
        step = float(state["step"])
        denominator = (state["exp_avg_sq"] / (1 - beta2**step)).sqrt_().add_(eps)
        return self.lam * group["lr"] / denominator

    @torch.no_grad()
    def after_step(self, step: int) -> None:
        if self.lam == 0:
            return
        for weight in self.weights.values():
            shrunk = (weight.abs() - self._threshold(weight)).clamp_(min=0)
            weight.copy_(torch.sign(weight) * shrunk)
