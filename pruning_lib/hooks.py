"""The training loop's hook protocol, apart from the loop so that pruning needs no loop.

The :class:`~pruning_lib.prune.Pruner` and the L1 penalty implement these hooks; the loop
in ``finetune.py`` calls them. Neither side imports the other, and this module imports
only torch.

- ``before_training(config)``: refuse a training config the hooks cannot work with, before
  any step;
- ``bind(optimizer)``: see the optimizer the loop made (the proximal L1 step reads Adam's
  per-weight step sizes);
- ``penalty(model)``: a term added to the loss (the L1 penalty);
- ``batch_penalty(input_ids, logits)``: a term from the batch and the model's logits on it
  (distillation from a teacher's logits);
- ``before_step(step)``: before the forward pass (a schedule prunes here);
- ``after_backward(model)``: after gradients are complete (masks zero them);
- ``after_step(step)``: after the optimizer step (masks zero the weights again, so
  AdamW momentum cannot revive a pruned weight).
"""

from __future__ import annotations

from typing import Any

import torch


class TrainHooks:
    """No-op hooks; subclass (or pass several to :class:`HookList`) to change training."""

    def before_training(self, config: Any) -> None:
        """Refuse a training config the hooks cannot work with (a ValueError), before any
        step."""

    def bind(self, optimizer: torch.optim.Optimizer) -> None:
        """See the loop's optimizer (once, before the first step)."""

    def penalty(self, model: torch.nn.Module) -> torch.Tensor | None:
        return None

    def batch_penalty(self, input_ids: torch.Tensor, logits: torch.Tensor) -> torch.Tensor | None:
        return None

    def before_step(self, step: int) -> None:
        pass

    def after_backward(self, model: torch.nn.Module) -> None:
        pass

    def after_step(self, step: int) -> None:
        pass


class HookList(TrainHooks):
    """Several hooks called in order (None entries are dropped)."""

    def __init__(self, *hooks: TrainHooks | None):
        self.hooks = [h for h in hooks if h is not None]

    def before_training(self, config: Any) -> None:
        for h in self.hooks:
            h.before_training(config)

    def bind(self, optimizer: torch.optim.Optimizer) -> None:
        for h in self.hooks:
            h.bind(optimizer)

    def penalty(self, model: torch.nn.Module) -> torch.Tensor | None:
        terms = [t for t in (h.penalty(model) for h in self.hooks) if t is not None]
        return sum(terms) if terms else None

    def batch_penalty(self, input_ids: torch.Tensor, logits: torch.Tensor) -> torch.Tensor | None:
        terms = [h.batch_penalty(input_ids, logits) for h in self.hooks]
        terms = [t for t in terms if t is not None]
        return sum(terms) if terms else None

    def before_step(self, step: int) -> None:
        for h in self.hooks:
            h.before_step(step)

    def after_backward(self, model: torch.nn.Module) -> None:
        for h in self.hooks:
            h.after_backward(model)

    def after_step(self, step: int) -> None:
        for h in self.hooks:
            h.after_step(step)
