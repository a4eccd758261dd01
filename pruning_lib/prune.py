"""The :class:`Pruner`: owns a model's masks and keeps them applied through training.

Words (``docs/design.md``): *sparsity* is the fraction of prunable weights that are zero,
cumulative. A *pruning rate* removes that fraction of the weights still standing, so
rate 0.1 five times gives sparsity 1 - 0.9**5 = 0.40951, as ``torch.nn.utils.prune``'s
``amount`` compounds.

Masks are boolean tensors (True = kept) owned by a :class:`Pruner`, which zeroes the
weights in place after every optimizer step and zeroes their gradients, so AdamW's
momentum cannot revive a pruned weight. There are no forward hooks and no
``weight_orig`` keys: ``state_dict`` and ``save_pretrained`` stay standard, and masks
are saved beside the model as safetensors. Which weights are prunable is
``weights.py``; how masks are chosen from scores is ``selection.py``.

Example:
    >>> round(rate_to_sparsity(0.1, 5), 5)
    0.40951
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .hooks import TrainHooks
from .selection import (
    MagnitudeScores,
    Of,
    Scope,
    check_scope,
    magnitude_masks,
    rate_to_sparsity,
    select_masks,
    sparsity_to_rate,
    std_threshold,
    step_rate,
    threshold_mask,
)
from .weights import (
    DEFAULT_EXCLUDE,
    input_axes,
    prunable_parameters,
    prunable_refs,
    prunable_weights,
    resolve,
    uncovered_matrices,
)

__all__ = [
    "DEFAULT_EXCLUDE",
    "Pruner",
    "magnitude_masks",
    "prunable_weights",
    "rate_to_sparsity",
    "select_masks",
    "sparsity_report",
    "sparsity_to_rate",
    "std_threshold",
    "step_rate",
    "threshold_mask",
]


class Pruner(TrainHooks):
    """Owns the masks of a model's prunable weights and keeps them applied.

    Use it as training hooks (``finetune.train(..., hooks=pruner)``): gradients of
    pruned weights are zeroed after backward, and the weights are zeroed again after
    every optimizer step. With a ``schedule``, it prunes at the schedule's steps.

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> pruner = Pruner(model)
        >>> pruner.prune(0.5, scope="global")  # half of all prunable weights
        0.5
        >>> pruner.prune(0.5, of="remaining")  # half of those still standing: 0.5 -> 0.75
        0.75
    """

    def __init__(
        self,
        model: nn.Module,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        schedule=None,
        scope: Scope = "layer",
    ):
        check_scope(scope)
        self.refs = prunable_refs(model, include, exclude)
        if not self.refs:
            raise ValueError(
                f"no prunable weight matched (include={include!r}, exclude={exclude!r}); "
                "prunable weights are the 2-D weights of nn.Linear and Conv1D layers and "
                "the expert matrices of mixture-of-experts blocks"
            )
        # Block matrices no rule covers would stay dense while the sparsity reads as
        # if the model were pruned: say which (unless the caller chose the weights).
        chosen = include is not None or exclude is not None
        self.uncovered = [] if chosen else uncovered_matrices(model, self.refs)
        if self.uncovered:
            shown = ", ".join(self.uncovered[:5])
            more = f" and {len(self.uncovered) - 5} more" if len(self.uncovered) > 5 else ""
            warnings.warn(
                f"{len(self.uncovered)} matrices of the model are not prunable and stay "
                f"dense: {shown}{more}; sparsity() counts only the prunable weights",
                stacklevel=2,
            )
        self.input_axes = input_axes(model, self.refs)  # for patterns along the input dim
        self.masks: dict[str, torch.Tensor] = {}
        # Masks in each weight's dtype, built on first use in training: multiplying by a
        # float mask is an order of magnitude faster than by a bool one on CPUs.
        self._factors: dict[str, torch.Tensor] = {}
        self.schedule = schedule
        self.scope: Scope = scope
        self.history: list[dict[str, float]] = []  # {"step", "sparsity"} at each pruning

    @property
    def weights(self) -> dict[str, torch.Tensor]:
        """``{name: tensor}`` of the prunable weights as they are now (on their device)."""
        return {name: resolve(ref) for name, ref in self.refs.items()}

    def parameters(self) -> list[nn.Parameter]:
        """The distinct parameters behind the prunable weights (for an optimizer or L1)."""
        return prunable_parameters(self.refs)

    # -- making masks -------------------------------------------------------------
    def _set(self, new: Mapping[str, torch.Tensor]) -> float:
        self._factors = {}
        weights = self.weights
        for name, mask in new.items():
            old = self.masks.get(name)
            mask = mask.to(weights[name].device)
            self.masks[name] = mask if old is None else (mask & old.to(mask.device))
        self.apply()
        return self.sparsity()

    def prune(
        self,
        amount: float,
        scores: Mapping[str, torch.Tensor] | None = None,
        scope: Scope | None = None,
        of: Of = "all",
    ) -> float:
        """Prune ``amount`` by ``scores`` (default: magnitude), the lowest first; returns the
        sparsity.

        Args:
            amount: in [0, 1). With ``of="all"``, the sparsity to reach: the fraction of the
                prunable weights that are zero afterwards, counting those pruned before.
                With ``of="remaining"``, a pruning rate: the fraction of the weights still
                standing to remove (rate 0.1 five times: 1 - 0.9**5, as
                ``torch.nn.utils.prune``'s ``amount`` compounds).
            scores: ``{name: non-negative importance}`` for every prunable weight, e.g.
                from ``selection.MagnitudeScores``.
            scope: ``layer`` or ``global`` (default: the pruner's).
            of: ``all`` or ``remaining``, what ``amount`` is a fraction of.
        """
        scores = MagnitudeScores(self.weights) if scores is None else scores
        # A rate counts the weights already at zero as pruned (they stand no longer).
        masks = self._current_masks() if of == "remaining" else self.masks
        return self._set(select_masks(scores, amount, scope or self.scope, masks, of))

    def prune_allocation(
        self, allocation: Mapping[str, float], scores: Mapping[str, torch.Tensor] | None = None
    ) -> float:
        """Prune each weight to its own sparsity, ``allocation[name]`` (see
        :mod:`~pruning_lib.allocation`), by ``scores`` (default: magnitude); returns the
        sparsity. Exactly ``allocation.counts`` weights go: the whole reaches the
        allocation's size-weighted mean, rounded to one weight, whatever the rounding of
        each layer.

        Example:
            >>> from torch import nn
            >>> pruner = Pruner(nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 30)))
            >>> pruner.prune_allocation({"0.weight": 0.2, "1.weight": 0.6})
            0.5
        """
        from .allocation import counts

        scores = MagnitudeScores(self.weights) if scores is None else scores
        sizes = {name: weight.numel() for name, weight in self.weights.items()}
        number = counts(sizes, allocation)
        new = {}  # every mask is made (and every number checked) before any is applied
        for name, size in sizes.items():
            existing = {name: self.masks[name]} if name in self.masks else None
            new.update(select_masks({name: scores[name]}, number[name] / size, "layer", existing))
        return self._set(new)

    def prune_pattern(self, pattern, scores: Mapping[str, torch.Tensor] | None = None) -> float:
        """Prune by a pattern (``patterns.NM(2, 4)``, ``patterns.Units(0.25)``) of ``scores``
        (default: magnitude); returns the sparsity. Every weight is checked first. The
        pattern sees every weight and score as (out, in): GPT-2's ``Conv1D`` weights, stored
        (in, out), are transposed for it and back."""
        scores = MagnitudeScores(self.weights) if scores is None else scores
        made = pattern.masks(_AsRows(scores, self.input_axes), _AsRows(self.masks, self.input_axes))
        return self._set(
            {name: _rows(mask, self.input_axes[name]).contiguous() for name, mask in made.items()}
        )

    def replace(self, masks: Mapping[str, torch.Tensor]) -> float:
        """Set ``masks`` in place of those weights' old ones, so a pruned weight may come
        back (at zero: sparse training's regrowth); returns the sparsity."""
        for name in masks:
            self.masks.pop(name, None)
        return self._set(masks)

    def _current_masks(self) -> dict[str, torch.Tensor]:
        """The masks, or for weights without one, where they are non-zero now."""
        return {name: self.masks.get(name, w.detach() != 0) for name, w in self.weights.items()}

    def prune_threshold(self, threshold: float | None = None, q: float | None = None) -> float:
        """Prune ``|w| < threshold`` (absolute), or ``|w| < q * std`` of each layer."""
        if (threshold is None) == (q is None):
            raise ValueError("give exactly one of threshold= (absolute) or q= (times the std)")
        new = {}  # every mask is made (and every number checked) before any is applied
        for name, weight in self.weights.items():
            t = threshold if threshold is not None else std_threshold(weight, q)
            new[name] = threshold_mask(weight, t)
        return self._set(new)

    # -- keeping masks applied ----------------------------------------------------
    @torch.no_grad()
    def apply(self) -> None:
        """Zero every pruned weight in place (after every optimizer step, in training)."""
        for name in self.masks:
            weight = resolve(self.refs[name])
            weight.mul_(self._factor(name, weight))

    def _factor(self, name: str, like: torch.Tensor) -> torch.Tensor:
        factor = self._factors.get(name)
        if factor is None or factor.device != like.device or factor.dtype != like.dtype:
            factor = self._factors[name] = self.masks[name].to(like.device, like.dtype)
        return factor

    @torch.no_grad()
    def mask_gradients(self) -> None:
        """Zero the gradients of pruned weights (before clipping and the optimizer step)."""
        for name in self.masks:
            parameter, index = self.refs[name]
            grad = parameter.grad
            if grad is not None:
                grad = grad if index is None else grad[index]
                grad.mul_(self._factor(name, grad))

    def before_training(self, config) -> None:
        # A loop that ends before the schedule does would stop short of the target.
        if self.schedule is not None and self.schedule.end_step >= config.steps:
            raise ValueError(
                f"schedule.end_step={self.schedule.end_step} is not before the last training "
                f"step (train.steps={config.steps}); allowed: [1, {config.steps - 1}]"
            )

    def before_step(self, step: int) -> None:
        if self.schedule is not None and self.schedule.should_prune(step):
            sparsity = self.prune(self.schedule.sparsity_at(step))
            self.history.append({"step": step, "sparsity": sparsity})

    def after_backward(self, model: nn.Module) -> None:
        self.mask_gradients()

    def after_step(self, step: int) -> None:
        self.apply()

    # -- reporting ----------------------------------------------------------------
    def sparsity(self) -> float:
        """Fraction of the prunable weights that are zero now."""
        weights = self.weights.values()
        zeros = sum(int((w == 0).sum()) for w in weights)
        return zeros / sum(w.numel() for w in weights)

    def report(self) -> list[dict[str, float | int | str]]:
        """Per-layer rows: name, total, non-zero, sparsity; the last row is the total."""
        return sparsity_report(self.weights)

    def coverage(self) -> dict[str, int | list[str]]:
        """What the sparsity covers: the prunable weights, and the matrices left dense.

        Example:
            >>> from torch import nn
            >>> Pruner(nn.Sequential(nn.Linear(2, 2))).coverage()
            {'prunable_weights': 1, 'prunable_parameters': 4, 'uncovered': []}
        """
        return {
            "prunable_weights": len(self.refs),
            "prunable_parameters": sum(w.numel() for w in self.weights.values()),
            "uncovered": list(self.uncovered),
        }

    # -- files ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save the masks as safetensors (uint8), atomically."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tensors = {
            name: mask.to("cpu", torch.uint8).contiguous() for name, mask in self.masks.items()
        }
        save_file(tensors, str(tmp), metadata={"format": "pruning-lib masks", "scope": self.scope})
        tmp.replace(path)
        return path

    def load(self, path: str | Path) -> float:
        """Load masks saved by :meth:`save` and apply them; returns the sparsity."""
        tensors = load_file(str(path))
        weights = self.weights
        unknown = sorted(set(tensors) - set(weights))
        if unknown:
            raise ValueError(f"mask file {str(path)!r} has masks for unknown weights {unknown[:3]}")
        for name, mask in tensors.items():
            if mask.shape != weights[name].shape:
                raise ValueError(
                    f"mask {name} has shape {tuple(mask.shape)}, "
                    f"weight has {tuple(weights[name].shape)}"
                )
        self.masks = {}
        return self._set({name: mask.bool() for name, mask in tensors.items()})


def _rows(tensor: torch.Tensor, input_axis: int) -> torch.Tensor:
    """A weight's tensor as (out, in), and back: Conv1D stores (in, out)."""
    return tensor.t() if input_axis == 0 else tensor


class _AsRows(Mapping):
    """Scores or masks as (out, in) matrices, each transposed when it is read."""

    def __init__(self, tensors: Mapping[str, torch.Tensor], input_axes: Mapping[str, int]):
        self.tensors, self.input_axes = tensors, input_axes

    def __getitem__(self, name: str) -> torch.Tensor:
        return _rows(self.tensors[name], self.input_axes[name])

    def __iter__(self):
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)


def sparsity_report(weights: dict[str, torch.Tensor]) -> list[dict[str, float | int | str]]:
    """Non-zero counts per weight and in total.

    Example:
        >>> sparsity_report({"a": torch.tensor([0.0, 1.0])})[-1]
        {'name': 'total', 'total': 2, 'nonzero': 1, 'sparsity': 0.5}
    """
    rows: list[dict[str, float | int | str]] = []
    total = nonzero = 0
    for name, weight in weights.items():
        n, nz = weight.numel(), int(torch.count_nonzero(weight))
        rows.append({"name": name, "total": n, "nonzero": nz, "sparsity": 1 - nz / n})
        total += n
        nonzero += nz
    rows.append(
        {
            "name": "total",
            "total": total,
            "nonzero": nonzero,
            "sparsity": 1 - nonzero / total if total else 0.0,
        }
    )
    return rows
