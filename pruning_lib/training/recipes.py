"""The pruning recipes, each once: one-shot, iterative, scheduled, L1-then-prune.

Each recipe is a :class:`~pruning_lib.prune.Pruner` plus the training loop; the
study's kinds (``study/kinds.py``) prepare their inputs and evaluate what they return.

- :func:`oneshot`: prune to a sparsity at once, by a score (magnitude, Wanda, random) and a
  pattern (unstructured, N:M); then fine-tune with :func:`finetune`;
- :func:`iterative`: prune the same rate of the remaining weights ``iterations`` times
  inside **one** fine-tuning run: one optimizer (AdamW keeps its moments), one learning-rate
  schedule and one continuous stream of batches, pruning at the start of each round;
- :func:`scheduled`: gradual pruning on a :class:`~pruning_lib.schedules.Schedule`;
- :func:`l1_then_prune`: train with the L1 penalty, prune, fine-tune with the masks held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..checks import check_fraction, check_number
from ..config import TrainConfig, validate
from ..hooks import HookList, TrainHooks
from ..patterns import RowWise, parse_pattern
from ..prune import Pruner
from ..regularization import L1Penalty, ProximalL1
from ..schedules import Schedule
from ..scores import input_norms, random_scores, wanda_scores
from ..selection import check_scope, sparsity_to_rate
from .finetune import TrainResult, train

SCORES = ("magnitude", "wanda", "random")


def oneshot(
    model: nn.Module,
    sparsity: float,
    scope: str = "layer",
    score: str | Mapping[str, torch.Tensor] = "magnitude",
    pattern: str = "unstructured",
    calibration: Iterable[torch.Tensor] | None = None,
    seed: int = 0,
    include: Iterable[str] | None = None,
) -> Pruner:
    """Prune ``model`` once: the score says which weights matter, the pattern which may go
    together. Every one-shot run of the study, the launch script and notebook 09 prune here.

    Args:
        model: the model to prune in place.
        sparsity: the fraction of the prunable weights to zero, in [0, 1). An ``N:M``
            pattern fixes it at ``1 - N/M``: another value is refused.
        scope: ``layer`` (each weight to ``sparsity``) or ``global`` (one threshold over
            all); unstructured magnitude and random scores only.
        score: ``magnitude`` (|w|), ``wanda`` (|w| times the norm of its input over
            ``calibration``, compared within each output row as the Wanda paper does),
            ``random`` (the control), or ``{name: non-negative score}`` of your own.
        pattern: ``unstructured`` or ``N:M`` such as ``2:4`` (along each weight's input
            dimension).
        calibration: batches of token ids, for ``wanda`` (one dense forward pass over them:
            the reference implementation instead recalibrates block by block on the outputs
            of the blocks already pruned).
        seed: the seed of ``random`` scores.
        include: regular expressions of the weights to prune (default: every prunable one).

    Returns:
        The :class:`~pruning_lib.prune.Pruner` holding the masks.

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(8, 4))
        >>> pruner = oneshot(model, 0.5, pattern="2:4")
        >>> [int(k) for k in pruner.masks["0.weight"].reshape(4, 2, 4).sum(-1).flatten()]
        [2, 2, 2, 2, 2, 2, 2, 2]
    """
    check_fraction("sparsity", sparsity)
    check_scope(scope)
    nm = parse_pattern(pattern)
    if nm is not None and abs(sparsity - nm.sparsity) > 1e-9:
        raise ValueError(
            f"sparsity={sparsity} does not fit pattern={pattern!r}; allowed: {nm.sparsity:g}"
        )
    if isinstance(score, str) and score not in SCORES:
        raise ValueError(f"score={score!r} is not allowed; choose one of {list(SCORES)}")
    if scope == "global" and (nm is not None or score == "wanda"):
        raise ValueError(
            f"scope='global' is for unstructured magnitude or random scores; score={score!r} "
            f"with pattern={pattern!r} compares within groups: use scope='layer'"
        )
    if score == "wanda" and calibration is None:
        raise ValueError("score='wanda' needs calibration= batches of token ids")
    pruner = Pruner(model, include=include, scope=scope)
    if score == "magnitude":
        scores = None
    elif score == "random":
        scores = random_scores(pruner.weights, seed=seed)
    elif score == "wanda":
        scores = wanda_scores(pruner, input_norms(pruner, model, calibration))
    else:
        scores = score
    if nm is not None:
        pruner.prune_pattern(nm, scores)
    elif score == "wanda":
        pruner.prune_pattern(RowWise(sparsity), scores)  # Wanda's comparison group
    else:
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
        self.pruner.prune(self.rate, of="remaining")
        if step == self.starts[-1]:  # land exactly on the target despite rounding
            self.pruner.prune(self.target)
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
            pruner.prune(rate, of="remaining")
        pruner.prune(sparsity)
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
    are called at those points and their return values kept in ``extra`` (the study's ``l1``
    kind evaluates there).
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
        achieved = pruner.prune(sparsity)
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
