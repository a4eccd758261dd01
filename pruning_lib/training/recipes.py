"""The pruning recipes, each once: one-shot, iterative, scheduled, L1-then-prune.

Each recipe is a :class:`~pruning_lib.prune.Pruner` plus the training loop; the
notebooks' ``Experiment`` only caches what these return.

- :func:`oneshot`: prune to a sparsity at once (then fine-tune with :func:`finetune`);
- :func:`iterative`: prune the same rate of the remaining weights ``iterations`` times
  inside **one** fine-tuning run: one optimizer (AdamW keeps its moments), one learning-rate
  schedule and one continuous stream of batches, pruning at the start of each round;
- :func:`scheduled`: gradual pruning on a :class:`~pruning_lib.schedules.Schedule`;
- :func:`l1_then_prune`: train with the L1 penalty, prune, fine-tune with the masks held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..checks import check_fraction, check_number
from ..config import TrainConfig, validate
from ..hooks import HookList, TrainHooks
from ..prune import Pruner
from ..regularization import L1Penalty, ProximalL1
from ..schedules import Schedule
from ..selection import check_scope, sparsity_to_rate
from .finetune import TrainResult, train


def oneshot(model: nn.Module, sparsity: float, scope: str = "layer", scores=None) -> Pruner:
    """Prune ``model`` to ``sparsity`` by ``scores`` (default: magnitude) at once."""
    check_fraction("sparsity", sparsity)
    pruner = Pruner(model, scope=check_scope(scope))
    pruner.prune(sparsity, scores)
    return pruner


def finetune(
    model: nn.Module,
    pruner: Pruner | None,
    stream: torch.Tensor,
    config: TrainConfig,
    block_size: int,
    extra_hooks: TrainHooks | None = None,
    device: str = "auto",
    progress: bool = True,
) -> TrainResult:
    """Fine-tune with the pruner's masks held (``pruner=None``: the dense control)."""
    return train(model, stream, config, block_size, HookList(pruner, extra_hooks), device, progress)


def round_steps(total: int, rounds: int) -> list[int]:
    """The first step of each of ``rounds`` rounds that share ``total`` steps as evenly as
    integers allow (the earlier rounds get the remainder).

    Example:
        >>> round_steps(150, 4)
        [0, 38, 76, 113]
    """
    sizes = [total // rounds + (i < total % rounds) for i in range(rounds)]
    return [sum(sizes[:i]) for i in range(rounds)]


class RoundPruning(TrainHooks):
    """Prune ``rate`` of the remaining weights at the start of each round (a hook)."""

    def __init__(self, pruner: Pruner, rate: float, starts: list[int], target: float):
        self.pruner, self.rate, self.starts, self.target = pruner, rate, starts, target
        self.trace: list[dict[str, float]] = []

    def before_step(self, step: int) -> None:
        if step not in self.starts:
            return
        self.pruner.prune_rate(self.rate)
        if step == self.starts[-1]:  # land exactly on the target despite rounding
            self.pruner.prune_magnitude(self.target)
        self.trace.append(
            {"iteration": len(self.trace) + 1, "step": step, "sparsity": self.pruner.sparsity()}
        )


@dataclass
class IterativeResult:
    pruner: Pruner
    rate: float  # the fraction of the remaining weights pruned in each round
    trace: list[dict[str, float]] = field(default_factory=list)  # sparsity after each round
    training: TrainResult | None = None


def iterative(
    model: nn.Module,
    stream: torch.Tensor,
    config: TrainConfig,
    block_size: int,
    sparsity: float,
    iterations: int,
    scope: str = "layer",
    extra_hooks: TrainHooks | None = None,
    device: str = "auto",
    progress: bool = True,
) -> IterativeResult:
    """Prune to ``sparsity`` in ``iterations`` equal rates, fine-tuning between them.

    The ``config.steps`` optimizer steps are split into ``iterations`` rounds of one
    training run; each round starts by pruning the same rate of the weights still
    standing. With ``config.steps == 0`` the rounds follow each other with no training.
    """
    check_fraction("sparsity", sparsity)
    check_number("iterations", iterations, 1, integer=True)
    validate(config)
    rate = sparsity_to_rate(sparsity, iterations)
    pruner = Pruner(model, scope=check_scope(scope))
    if config.steps < iterations:
        for _ in range(iterations):
            pruner.prune_rate(rate)
        pruner.prune_magnitude(sparsity)
        trace = [{"iteration": iterations, "step": 0, "sparsity": pruner.sparsity()}]
        result = IterativeResult(pruner, rate, trace)
        if config.steps:
            result.training = finetune(
                model, pruner, stream, config, block_size, extra_hooks, device, progress
            )
        return result
    rounds = RoundPruning(pruner, rate, round_steps(config.steps, iterations), sparsity)
    training = train(
        model, stream, config, block_size, HookList(rounds, pruner, extra_hooks), device, progress
    )
    return IterativeResult(pruner, rate, rounds.trace, training)


def scheduled(
    model: nn.Module,
    stream: torch.Tensor,
    config: TrainConfig,
    block_size: int,
    schedule: Schedule,
    scope: str = "layer",
    extra_hooks: TrainHooks | None = None,
    device: str = "auto",
    progress: bool = True,
) -> tuple[Pruner, TrainResult]:
    """Gradual pruning inside fine-tuning, following ``schedule``."""
    pruner = Pruner(model, schedule=schedule, scope=check_scope(scope))
    result = finetune(model, pruner, stream, config, block_size, extra_hooks, device, progress)
    return pruner, result


@dataclass
class L1Result:
    l1_training: TrainResult
    sparsity_after_pruning: float
    finetuning: TrainResult | None = None
    pruner: Pruner | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
    after_l1=None,
    after_pruning=None,
    proximal: bool = False,
) -> L1Result:
    """Train with the L1 penalty, prune (by ``sparsity``, ``threshold`` or ``q``), fine-tune.

    Exactly one of ``sparsity`` (magnitude), ``threshold`` (absolute) or ``q`` (times
    each layer's standard deviation) says how to prune. Every argument is checked
    before training starts. ``proximal=True`` trains with the proximal step
    (:class:`~pruning_lib.regularization.ProximalL1`, exact zeros) instead of the penalty in
    the loss. ``after_l1(model)`` and ``after_pruning(model)``, when given,
    are called at those points and their return values kept in ``extra`` (the notebooks
    evaluate there).
    """
    given = [x is not None for x in (sparsity, threshold, q)]
    if sum(given) != 1:
        raise ValueError("give exactly one of sparsity=, threshold= or q= to prune after L1")
    # Both validate lam; the proximal step reads the loop's AdamW step sizes.
    penalty = ProximalL1(model, lam, l1_config.learning_rate) if proximal else L1Penalty(model, lam)
    pruner = Pruner(model, scope=check_scope(scope))  # validates that weights exist
    if sparsity is not None:
        check_fraction("sparsity", sparsity)
    if threshold is not None:
        check_number("threshold", threshold, 0)
    if q is not None:
        check_number("q", q, 0)
    validate(l1_config)
    if finetune_config is not None:
        validate(finetune_config)
    l1_result = train(model, stream, l1_config, block_size, penalty, device, progress)
    extra: dict[str, Any] = {}
    if after_l1 is not None:
        extra["after_l1"] = after_l1(model)
    if sparsity is not None:
        achieved = pruner.prune_magnitude(sparsity)
    else:
        achieved = pruner.prune_threshold(threshold=threshold, q=q)
    if after_pruning is not None:
        extra["after_pruning"] = after_pruning(model)
    result = L1Result(l1_result, achieved, pruner=pruner, extra=extra)
    if finetune_config is not None and finetune_config.steps > 0:
        result.finetuning = finetune(
            model, pruner, stream, finetune_config, block_size, None, device, progress
        )
    return result
