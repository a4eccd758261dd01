"""Sparsity as a function of the training step: constant, linear, exponential, cubic.

Pruning happens at ``begin_step``, then every ``frequency`` steps, and always at
``end_step``, so the target is reached exactly at the end step for every frequency,
also when the span is not a multiple of it. Between pruning steps the sparsity holds.
With ``progress = (step - begin_step) / (end_step - begin_step)`` at a pruning step:

- constant:    s = s_f from the begin step on (one-shot, re-applied each time);
- linear:      s = s_i + (s_f - s_i) * progress;
- exponential: s = 1 - (1 - s_i) * ((1 - s_f) / (1 - s_i)) ** progress, i.e. the same
  fraction of the remaining weights at each of N evenly spaced steps;
- polynomial:  s = s_f + (s_i - s_f) * (1 - progress) ** power (Zhu & Gupta 2017;
  ``cubic`` is power 3). Right for every power, odd or even.

Example:
    >>> schedule = Schedule("exponential", 0.0, 0.5, begin_step=0, end_step=50, frequency=10)
    >>> [round(schedule.sparsity_at(s), 4) for s in schedule.pruning_steps()]
    [0.0, 0.1294, 0.2421, 0.3402, 0.4257, 0.5]
    >>> Schedule("cubic", 0.0, 0.5, 0, 10, 3).pruning_steps()
    [0, 3, 6, 9, 10]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .config import bounded, validate

Kind = Literal["constant", "linear", "exponential", "cubic", "polynomial"]
KINDS = ("constant", "linear", "exponential", "cubic", "polynomial")


@dataclass
class Schedule:
    """When to prune and to which sparsity (all parameters are checked on creation)."""

    section = "schedule"
    kind: Kind = "cubic"
    initial_sparsity: float = bounded(0.0, 0.0, 1.0, high_open=True)  # s_i at begin_step
    target_sparsity: float = bounded(0.5, 0.0, 1.0, high_open=True)  # s_f at end_step
    begin_step: int = bounded(0, 0, None)
    end_step: int = bounded(100, 1, None)
    frequency: int = bounded(10, 1, None)  # steps between pruning events
    power: float = bounded(3.0, 0.0, 100.0, low_open=True)  # polynomial only

    def __post_init__(self) -> None:
        validate(self)

    def check(self) -> None:
        if self.initial_sparsity > self.target_sparsity:
            raise ValueError(
                f"schedule.initial_sparsity={self.initial_sparsity} is above "
                f"schedule.target_sparsity={self.target_sparsity}; allowed: "
                f"[0, {self.target_sparsity}]"
            )
        if self.end_step <= self.begin_step:
            raise ValueError(
                f"schedule.end_step={self.end_step} must come after "
                f"schedule.begin_step={self.begin_step}; allowed: [{self.begin_step + 1}, inf)"
            )

    def pruning_steps(self) -> list[int]:
        """Every step at which the model is pruned; the last one is ``end_step``."""
        steps = list(range(self.begin_step, self.end_step, self.frequency))
        return steps + [self.end_step]

    def should_prune(self, step: int) -> bool:
        if step < self.begin_step or step > self.end_step:
            return False
        return (step - self.begin_step) % self.frequency == 0 or step == self.end_step

    def _at_progress(self, progress: float) -> float:
        s_i, s_f = self.initial_sparsity, self.target_sparsity
        if self.kind == "constant":
            return s_f
        if self.kind == "linear":
            return s_i + (s_f - s_i) * progress
        if self.kind == "exponential":
            return 1 - (1 - s_i) * ((1 - s_f) / (1 - s_i)) ** progress
        power = 3.0 if self.kind == "cubic" else self.power
        return s_f + (s_i - s_f) * (1 - progress) ** power

    def sparsity_at(self, step: int) -> float:
        """The sparsity the model holds after any pruning at ``step`` (0 before the begin)."""
        if step < self.begin_step:
            return 0.0
        if step >= self.end_step:
            return self.target_sparsity
        last = self.begin_step + (step - self.begin_step) // self.frequency * self.frequency
        progress = (last - self.begin_step) / (self.end_step - self.begin_step)
        value = self._at_progress(progress)
        # Guard the float round-off of the closed forms at the two ends.
        return min(
            max(value, self.initial_sparsity if self.kind != "constant" else 0.0),
            self.target_sparsity,
        )

    def curve(self, steps: int | None = None) -> list[float]:
        """``sparsity_at`` for every step from 0 to ``steps`` (default: ``end_step``)."""
        last = self.end_step if steps is None else steps
        return [self.sparsity_at(s) for s in range(last + 1)]


def exponential_rate(initial_sparsity: float, target_sparsity: float, events: int) -> float:
    """The fixed fraction p of the remaining weights pruned at each of ``events`` steps.

    Example:
        >>> round(exponential_rate(0.0, 0.5, 5), 4)
        0.1294
    """
    if events < 1:
        raise ValueError(f"events={events!r} is out of range; allowed: [1, inf)")
    return 1 - ((1 - target_sparsity) / (1 - initial_sparsity)) ** (1 / events)
