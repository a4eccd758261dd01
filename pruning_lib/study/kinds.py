"""What each kind of run computes: one function per kind, each from a fresh copy of the
baseline of the run's seed to a JSON-ready result.

``KINDS[run.kind](experiment, **run.kwargs)`` computes a :class:`~pruning_lib.study.runs.Run`
(``Experiment.result`` caches it). The recipes themselves are the library's
(``pruning_lib.training.recipes``); a kind only prepares their inputs and evaluates. A
result holds at least ``scores`` (every task's metrics, item by item under ``correct``) and
``sparsity``. A kind that fine-tunes after pruning starts its recovery curve with the
scores of the run without fine-tuning (step 0), read through ``experiment.result``.

These functions are called with an ``Experiment`` (``experiment.py``), which this module
does not import: the experiment imports it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import torch

from ..efficiency import parameter_counts
from ..prune import Pruner
from ..schedules import Schedule
from ..scores import calibration_batches
from ..structured import shrink_mlp
from ..training import recipes
from .after import AFTER_KINDS
from .baseline import build_baseline
from .model import load_causal_lm, small_gpt
from .runs import Run

# Items of each set that a layer-alone run of the sensitivity scan is scored on (a scan
# is dozens of runs; compare it with ``notebook.mean_score(scores, SCAN_ITEMS)`` of dense).
SCAN_ITEMS = 100


def final_scores(experiment, model, curve: list[dict[str, Any]], steps: int) -> dict[str, Any]:
    """The scores after ``steps``: the curve's last point when it was taken there (the
    same weights, already evaluated), else a new evaluation."""
    if steps and curve and curve[-1]["step"] == steps:
        return curve[-1]["scores"]
    return experiment.evaluate(model)


def dense(experiment) -> dict[str, Any]:
    model, _ = experiment.baseline()
    return {"scores": experiment.evaluate(model), "sparsity": 0.0}


def control(experiment, steps: int, checkpoints: tuple[int, ...] = ()) -> dict[str, Any]:
    """The dense model given the same fine-tuning (so recovery is not mistaken for more
    training)."""
    model = experiment.fresh_model()
    before = experiment.result(Run.of("dense", experiment.settings.seed))["scores"]
    result, curve = experiment.finetune(model, None, steps, checkpoints)
    return {
        "scores": final_scores(experiment, model, curve, steps),
        "sparsity": 0.0,
        "history": result.history,
        "curve": [{"step": 0, "scores": before}] + curve,
    }


def _prune(experiment, model, sparsity, scope, score, pattern, calibration_sequences=None):
    """The library's one-shot recipe on ``model``, with Wanda's calibration windows."""
    calibration = None
    if score == "wanda":
        calibration = calibration_batches(
            experiment.stream(), calibration_sequences, experiment.block_size,
            seed=experiment.settings.seed,
        )  # fmt: skip
    return recipes.oneshot(
        model, sparsity, scope, score, pattern, calibration, seed=experiment.settings.seed
    )


def oneshot(
    experiment, sparsity: float, scope: str, score: str, pattern: str, **calibration: int
) -> dict[str, Any]:
    """Prune at once by ``score`` and ``pattern`` (``recipes.oneshot``); no training."""
    model = experiment.fresh_model()
    pruner = _prune(experiment, model, sparsity, scope, score, pattern, **calibration)
    return {
        "sparsity": pruner.sparsity(),
        "report": pruner.report()[-1],
        "scores": experiment.evaluate(model),
    }


def finetuned(
    experiment,
    sparsity: float,
    scope: str,
    score: str,
    pattern: str,
    steps: int,
    checkpoints: tuple[int, ...] = (),
    **calibration: int,
) -> dict[str, Any]:
    """One-shot pruning, then ``steps`` of fine-tuning with the masks held, evaluated at
    ``checkpoints`` (the recovery curve)."""
    model = experiment.fresh_model()
    pruner = _prune(experiment, model, sparsity, scope, score, pattern, **calibration)
    report = pruner.report()[-1]
    pruned = Run.of(
        "oneshot", experiment.settings.seed, sparsity=sparsity, scope=scope, score=score,
        pattern=pattern, **calibration,
    )  # fmt: skip
    before = experiment.result(pruned)["scores"]
    result, curve = experiment.finetune(model, pruner, steps, checkpoints)
    return {
        "sparsity": pruner.sparsity(),
        "report": report,
        "curve": [{"step": 0, "scores": before}] + curve,
        "history": result.history,
        "scores": final_scores(experiment, model, curve, steps),
    }


def layer_alone(experiment, name: str, sparsity: float, items: int) -> dict[str, Any]:
    """One weight matrix alone pruned to ``sparsity`` by magnitude, scored on the first
    ``items`` items of each set: how sensitive the model is to that layer."""
    model = experiment.fresh_model()
    pruner = Pruner(model, include=[f"^{re.escape(name)}$"])
    pruner.prune(sparsity)
    scores = experiment.evaluate(model, items)
    return {"scores": scores, "sparsity": pruner.sparsity(), "items": items}


def allocated(experiment, allocation) -> dict[str, Any]:
    """Each prunable weight pruned alone to its own sparsity by magnitude (``allocation``:
    ``(name, sparsity)`` pairs, e.g. chosen from notebook 03's scan); no fine-tuning."""
    model = experiment.fresh_model()
    for name, sparsity in allocation:
        Pruner(model, include=[f"^{re.escape(name)}$"]).prune(sparsity)
    whole = Pruner(model)
    return {"scores": experiment.evaluate(model), "sparsity": whole.sparsity(),
            "layers": whole.report()}  # fmt: skip


def threshold(
    experiment, threshold: float | None = None, q: float | None = None, match_q=None
) -> dict:
    """Prune ``|w| < threshold`` or ``|w| < q * std`` of each layer, or (``match_q``) below
    the one threshold that prunes as many weights as ``match_q * std`` does (no
    fine-tuning)."""
    model = experiment.fresh_model()
    pruner = Pruner(model)
    if match_q is not None:
        pruner.prune_threshold(q=match_q)
        count = round(pruner.sparsity() * sum(w.numel() for w in pruner.weights.values()))
        pruner = Pruner(model := experiment.fresh_model())
        every = torch.cat([w.detach().abs().flatten().cpu() for w in pruner.weights.values()])
        threshold = float(every.kthvalue(count).values)  # as notebook 02 matches by hand
    pruner.prune_threshold(threshold=threshold, q=q)
    return {"scores": experiment.evaluate(model), "sparsity": pruner.sparsity(),
            "layers": pruner.report()}  # fmt: skip


def iterative(experiment, sparsity: float, iterations: int, scope: str, steps: int) -> dict:
    """The same rate of the remaining weights pruned ``iterations`` times within one
    fine-tuning run of ``steps`` (one optimizer, one stream of batches)."""
    model = experiment.fresh_model()
    result = recipes.iterative(
        model, sparsity=sparsity, iterations=iterations, scope=scope,
        **experiment.train_args(steps),
    )  # fmt: skip
    return {
        "scores": experiment.evaluate(model),
        "sparsity": result.pruner.sparsity(),
        "rate": result.rate,
        "trace": result.trace,
    }


def scheduled(experiment, steps: int, schedule: str, **fields: Any) -> dict[str, Any]:
    """Gradual pruning inside ``steps`` of fine-tuning, following the
    :class:`~pruning_lib.schedules.Schedule` of kind ``schedule`` and ``fields``."""
    model = experiment.fresh_model()
    pruner, result = recipes.scheduled(
        model, schedule=Schedule(schedule, **fields), **experiment.train_args(steps)
    )
    return {
        "scores": experiment.evaluate(model),
        "sparsity": pruner.sparsity(),
        "history": result.history,
        "pruning": pruner.history,
    }


def l1(
    experiment, lam: float, sparsity: float, l1_steps: int, steps: int, proximal: bool
) -> dict[str, Any]:
    """``l1_steps`` of training with the L1 penalty (or its proximal step), pruning to
    ``sparsity`` by magnitude, then ``steps`` of fine-tuning."""
    model = experiment.fresh_model()
    l1_args = experiment.train_args(l1_steps)
    result = recipes.l1_then_prune(
        model,
        l1_args["stream"],
        experiment.block_size,
        lam,
        l1_args["config"],
        None,
        sparsity=sparsity,
        device=experiment.device.type,
        progress=experiment.progress,
        after_l1=lambda m: _l1_snapshot(experiment, m),
        after_pruning=experiment.evaluate,
        proximal=proximal,
    )
    # Fine-tuning is seeded after L1 training (train_args): every λ fine-tunes on the
    # same batches. With no steps, the final scores are those right after pruning.
    if steps:
        experiment.finetune(model, result.pruner, steps)
    snapshot = result.extra["after_l1"]
    return {
        "scores": experiment.evaluate(model) if steps else result.extra["after_pruning"],
        "scores_after_l1": snapshot["scores"],
        "scores_pruned": result.extra["after_pruning"],
        "sparsity": result.pruner.sparsity(),
        "l1_history": result.l1_training.history,
        **snapshot["weights"],
    }


def _l1_snapshot(experiment, model) -> dict[str, Any]:
    """Scores and the |w| histogram of the prunable weights right after L1 training."""
    weights = torch.cat(
        [w.detach().flatten().float().cpu() for w in Pruner(model).weights.values()]
    )
    histogram = torch.histogram(weights.abs().clamp(max=0.3), bins=30, range=(0.0, 0.3))
    return {
        "scores": experiment.evaluate(model),
        "weights": {
            "mean_abs_weight": weights.abs().mean().item(),
            "sum_abs_weight": weights.abs().sum().item(),
            "zero_fraction": (weights == 0).float().mean().item(),
            "histogram": histogram.hist.tolist(),
            "bin_edges": histogram.bin_edges.tolist(),
        },
    }


def structured(experiment, fraction: float, steps: int) -> dict[str, Any]:
    """``fraction`` of every layer's MLP neurons removed (weight-norm score); then ``steps``
    of fine-tuning (nothing to hold: the removed neurons are gone)."""
    model = experiment.fresh_model()
    prunable = parameter_counts(model)["prunable"]
    result = shrink_mlp(model, fraction)
    if steps:
        experiment.finetune(model, None, steps)
    counts = parameter_counts(model)
    return {
        "scores": experiment.evaluate(model),
        "fraction": fraction,
        "kept_neurons": result["kept"],
        "parameters": counts["total"],
        "sparsity": 1 - counts["prunable"] / prunable,  # of the original prunable weights
    }


def nonzero(experiment, run: dict[str, Any]) -> int:
    """Non-zero parameters of the whole model after a pruning run (embeddings included)."""
    counts = parameter_counts(experiment.baseline()[0])
    return counts["nonzero"] - counts["prunable_nonzero"] + run["report"]["nonzero"]


def small_width(experiment, parameters: int) -> int:
    """The width (a multiple of the head count) whose dense toy model has the parameter
    count closest to ``parameters``."""
    config = experiment.model_config
    vocab = len(experiment.tokenizer)
    best = None
    smallest = config.n_head * -(-8 // config.n_head)  # ModelConfig's n_embd is at least 8
    for width in range(smallest, config.n_embd + 1, config.n_head):
        model = small_gpt(dataclasses.replace(config, n_embd=width), vocab_size=vocab)
        gap = abs(parameter_counts(model)["total"] - parameters)
        if best is None or gap < best[0]:
            best = (gap, width)
    return best[1]


def dense_small(experiment, sparsity: float, steps: int) -> dict[str, Any]:
    """A dense toy model with about as many parameters as magnitude pruning to ``sparsity``
    keeps, trained from scratch for ``steps`` (the baseline's and the fine-tuning's: the
    pruned model's whole budget)."""
    if experiment.settings.model != "toy":
        raise ValueError("dense-small trains our toy GPT from scratch; set model='toy'")
    pruned = Run.of(
        "oneshot", experiment.settings.seed, sparsity=sparsity, scope="layer",
        score="magnitude", pattern="unstructured",
    )  # fmt: skip
    width = small_width(experiment, nonzero(experiment, experiment.result(pruned)))
    model_config = dataclasses.replace(experiment.model_config, n_embd=width)
    train_config = dataclasses.replace(experiment.baseline_train_config(), steps=steps)
    folder = build_baseline(
        experiment.world_config, model_config, train_config, experiment.cache, experiment.progress
    )
    model, _ = load_causal_lm(folder)
    model = model.to(experiment.device).eval()
    return {
        "scores": experiment.evaluate(model),
        "width": width,
        "parameters": parameter_counts(model)["total"],
    }


KINDS = {
    "dense": dense,
    "control": control,
    "oneshot": oneshot,
    "finetuned": finetuned,
    "layer_alone": layer_alone,
    "allocated": allocated,
    "threshold": threshold,
    "iterative": iterative,
    "scheduled": scheduled,
    "l1": l1,
    "structured": structured,
    "dense_small": dense_small,
}
KINDS.update(AFTER_KINDS)  # notebook 11's kinds
