"""Sparse training: a model trained from scratch with a sparse mask, fixed or moving.

Pruning starts from a trained dense model. Sparse training never has one: the mask is
chosen at initialisation and training happens under it, so the whole run costs (on
hardware that can use the zeros) what the small model costs. Two ways:

- *static*: a random mask at initialisation, held by the :class:`~pruning_lib.prune.Pruner`
  through training (:func:`random_mask`);
- *moving*: SET (Mocanu et al., 2018): every ``every`` steps each layer drops ``fraction``
  of its kept weights, those of smallest magnitude, and regrows as many at random among
  its pruned positions, at zero (:class:`SparseEvolution`), their optimizer moments reset
  (as RigL's code does: a weight dropped earlier would otherwise come back with its old
  second moment, which damps its first updates). RigL (Evci et al., 2020) regrows by
  gradient magnitude instead, and decays the fraction. Each layer keeps exactly as many
  weights as before, so the run stays at its sparsity.

Example:
    >>> import torch
    >>> from torch import nn
    >>> pruner = random_mask(nn.Linear(8, 8), 0.75, seed=0)
    >>> pruner.sparsity()
    0.75
"""

from __future__ import annotations

import torch
from torch import nn

from .checks import check_fraction, check_number
from .hooks import TrainHooks
from .prune import Pruner
from .scores import random_scores


def random_mask(model: nn.Module, sparsity: float, seed: int = 0, **pruner_args) -> Pruner:
    """A :class:`Pruner` of ``model`` with each layer pruned to ``sparsity`` at random
    positions (the weights there set to zero): the start of static sparse training."""
    pruner = Pruner(model, **pruner_args)
    pruner.prune(sparsity, scores=random_scores(pruner.weights, seed), scope="layer")
    return pruner


class SparseEvolution(TrainHooks):
    """SET's prune-and-regrow step, as a training hook after the pruner's.

    Args:
        pruner: the masks to move (every weight must already have a mask).
        every: steps between two updates (>= 1).
        fraction: share of each layer's kept weights dropped and regrown, in [0, 1).
        end_step: no update after this step (None: until the end); the last steps then
            train a fixed mask.
        seed: the random regrowth's generator.
    """

    def __init__(
        self,
        pruner: Pruner,
        every: int = 10,
        fraction: float = 0.3,
        end_step: int | None = None,
        seed: int = 0,
    ):
        check_number("every", every, 1, integer=True)
        check_fraction("fraction", fraction)
        if end_step is not None:
            check_number("end_step", end_step, 0, integer=True)
        missing = [name for name in pruner.weights if name not in pruner.masks]
        if missing:
            raise ValueError(f"every weight needs a mask before SET moves it: {missing[:3]}")
        self.pruner, self.every, self.fraction = pruner, every, fraction
        self.end_step = end_step
        self.generator = torch.Generator().manual_seed(seed)
        self.optimizer: torch.optim.Optimizer | None = None
        self.moved: list[dict[str, int]] = []  # {"step", "moved"} at each update

    def bind(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def after_step(self, step: int) -> None:
        done = step + 1
        if done % self.every == 0 and (self.end_step is None or done <= self.end_step):
            self.moved.append({"step": done, "moved": self.update()})

    @torch.no_grad()
    def update(self) -> int:
        """Drop and regrow once; returns how many weights moved in all."""
        new, moved = {}, 0
        for name, weight in self.pruner.weights.items():
            keep = self.pruner.masks[name].flatten().to(weight.device)
            count = min(round(self.fraction * int(keep.sum())), int((~keep).sum()))
            if count == 0:
                continue
            magnitude = weight.detach().abs().flatten().float()
            magnitude[~keep] = float("inf")  # only kept weights can be dropped
            drop = torch.topk(magnitude, count, largest=False).indices
            pruned = (~keep).nonzero().flatten().cpu()  # before this update: never the dropped
            grow = pruned[torch.randperm(len(pruned), generator=self.generator)[:count]]
            mask = keep.clone()
            mask[drop] = False
            mask[grow.to(mask.device)] = True
            new[name] = mask.view(weight.shape)
            moved += count
            self._reset_moments(weight, grow)
        self.pruner.replace(new)
        return moved

    def _reset_moments(self, weight: torch.Tensor, positions: torch.Tensor) -> None:
        """Zero the optimizer's state (Adam's moments, SGD's momentum) at ``positions`` of
        ``weight``: a regrown weight starts fresh."""
        if self.optimizer is None:
            return
        state = self.optimizer.state.get(weight, {})
        for value in state.values():
            if isinstance(value, torch.Tensor) and value.shape == weight.shape:
                value.view(-1)[positions.to(value.device)] = 0
