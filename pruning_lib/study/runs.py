"""A run of the study as one value: what it computes, its cache key and its label.

Every number a notebook shows comes from a *run*: the dense model evaluated, one-shot
pruning, a fine-tuning, one point of the L1 sweep. A :class:`Run` names one: its ``kind``,
its arguments (fully resolved, fine-tuning steps included) and the training ``seed`` of the
model it starts from. It is frozen and hashable, so a plan (:mod:`~pruning_lib.study.plans`)
is a plain collection of runs, a run that two notebooks ask for is one run, and
``reproduce`` takes the union of every notebook's runs.

What a run computes is :mod:`~pruning_lib.study.kinds` (one function per kind); where and
when is :mod:`~pruning_lib.study.pool`.

The cache key of a run hashes its kind, arguments and seed, the settings that shape its kind
(:data:`SHAPED_BY`), the toy world's and model's configs, and the versions of the baseline
recipe and of the evaluation items: a change of anything that shapes the result makes a new
key, and nothing else does.

Example:
    >>> run = Run.of("oneshot", sparsity=0.5, scope="layer", score="wanda", pattern="2:4")
    >>> run.label
    'oneshot pattern=2:4 scope=layer score=wanda sparsity=0.5, seed 0'
    >>> run == Run.of("oneshot", pattern="2:4", score="wanda", scope="layer", sparsity=0.5)
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..config import config_hash
from .baseline import BASELINE_VERSION
from .configs import toy_configs
from .toyworld import EVAL_VERSION

# What shapes every run: the model it starts from and the items it is scored on.
STARTING_POINT = (
    "model",
    "toy_size",
    "world_seed",
    "baseline_steps",
    "baseline_learning_rate",
    "batch_size",
    "datasets",
    "eval_limit",
    "choice_limit",
    "eval_batch_size",
)
# ...and what shapes a run that reads the fine-tuning corpus (to train, or to calibrate).
WITH_CORPUS = (
    *STARTING_POINT,
    "corpus",
    "corpus_limit",
    "block_size",
    "finetune_learning_rate",
    "finetune_batch_size",
    "grad_accum_steps",
    "mixed_precision",
)
SHAPED_BY = {
    "dense": STARTING_POINT,
    "threshold": STARTING_POINT,
    "layer_alone": STARTING_POINT,
    "allocated": STARTING_POINT,
    "oneshot": WITH_CORPUS,  # Wanda calibrates on the corpus
    "finetuned": WITH_CORPUS,
    "control": WITH_CORPUS,
    "iterative": WITH_CORPUS,
    "scheduled": WITH_CORPUS,
    "l1": WITH_CORPUS,
    "structured": WITH_CORPUS,
    "dense_small": WITH_CORPUS,
    "after_oneshot": WITH_CORPUS,
    "after_finetuned": WITH_CORPUS,
    "blocks_removed": WITH_CORPUS,
    "sparse_trained": STARTING_POINT,  # trains on the baseline's data and recipe, not the corpus
}
# Rough seconds per evaluation and per training step (at the tutorial's 4 sequences; 0.3 s
# at the baseline's 16, which the kinds that train from scratch use) of the tutorial's toy
# model on one CPU thread: the order of the pool's work (longest first) and the estimates
# the notebooks state depend on them.
EVALUATION_S, STEP_S, BASELINE_STEP_S = 2.2, 0.1, 0.3
FROM_SCRATCH = ("dense_small", "sparse_trained")


def _frozen(value: Any) -> Any:
    """A hashable copy: lists become tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        raise ValueError(f"a run's argument must be a number, a string or a list, not {value!r}")
    return value


@dataclass(frozen=True)
class Run:
    """One computation of the study; build it with :meth:`of` (or a constructor of
    :mod:`~pruning_lib.study.plans`)."""

    kind: str
    args: tuple[tuple[str, Any], ...] = ()
    seed: int = 0

    @classmethod
    def of(cls, kind: str, seed: int = 0, **args: Any) -> Run:
        """The run of ``kind`` at training ``seed`` with ``args`` (order does not matter)."""
        if kind not in SHAPED_BY:
            raise ValueError(f"kind={kind!r} is not a run; allowed: {sorted(SHAPED_BY)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a whole number >= 0")
        return cls(kind, tuple(sorted((k, _frozen(v)) for k, v in args.items())), seed)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    @property
    def label(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.args if v is not None)
        return f"{self.kind}{' ' if shown else ''}{shown}, seed {self.seed}"

    @property
    def cost(self) -> float:
        """Estimated seconds: evaluations and training steps (what the pool sorts by)."""
        args = self.kwargs
        steps = args.get("steps", 0) + args.get("l1_steps", 0)
        evaluations = 1 + len(args.get("checkpoints", ()))
        if self.kind == "l1":
            evaluations += 2  # after L1 training and right after pruning
        if self.kind == "layer_alone":
            evaluations = 0.75  # a scan run: 100 items a set (half of four sets, all of two)
        step_s = BASELINE_STEP_S if self.kind in FROM_SCRATCH else STEP_S
        return EVALUATION_S * evaluations + step_s * steps

    def key(self, settings) -> str:
        """``<kind>-<hash>``: the file name of its cached result."""
        values = dataclasses.asdict(settings)
        world, model = toy_configs(settings)
        payload = {
            "kind": self.kind,
            "args": self.kwargs,
            "seed": self.seed,
            "settings": {name: values[name] for name in SHAPED_BY[self.kind]},
            "world": dataclasses.asdict(world),
            "model": dataclasses.asdict(model),
            "baseline_version": BASELINE_VERSION,  # a new corpus or recipe: every run anew
            "eval_version": EVAL_VERSION,  # new evaluation items: every score anew
        }
        return f"{self.kind}-{config_hash(payload)}"
