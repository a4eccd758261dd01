"""The runs of "what comes after magnitude pruning" (notebook 11): the paper's Future Work.

Three kinds, each from a fresh copy of the baseline of the run's seed:

- ``after_oneshot``: one-shot pruning with the choices magnitude pruning leaves fixed: the
  per-layer ``allocation`` (:mod:`pruning_lib.allocation`), reconstruction of the kept
  weights after the mask (:mod:`pruning_lib.reconstruct`, SparseGPT's idea), and the text
  that Wanda and reconstruction calibrate on (``calibration_text``: the fine-tuning
  corpus, or the question-answer lines of the toy world's training facts, the family of
  the QA tasks evaluated);
- ``after_finetuned``: the same, then fine-tuning with the masks held, optionally with the
  dense model as teacher (``distill``: the weight of the KL term, :mod:`pruning_lib.distill`);
- ``blocks_removed``: the ``count`` transformer blocks of least influence removed
  (:mod:`pruning_lib.blocks`, ShortGPT), then optionally fine-tuned;
- ``sparse_trained``: no baseline at all: the toy GPT trained from scratch under a random
  mask of the run's sparsity, fixed or moved by SET (:mod:`pruning_lib.sparse_training`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from .. import allocation as allocators
from ..blocks import block_influence, blocks_to_remove, remove_blocks
from ..distill import Distillation
from ..efficiency import parameter_counts
from ..evaluation.data import token_stream
from ..evaluation.tasks import render_solved
from ..hooks import HookList
from ..prune import Pruner
from ..reconstruct import reconstruct as reconstruct_weights
from ..scores import calibration_batches, input_norms, wanda_scores
from ..sparse_training import SparseEvolution, random_mask
from ..training import recipes
from ..training.finetune import LocalAccelerator, train
from .baseline import round_weights
from .model import small_gpt
from .runtime import seed_everything
from .toyworld import RELATIONS, qa_row

CALIBRATION_TEXTS = ("corpus", "qa")
ALLOCATIONS = ("uniform", "global", "owl")
SPARSE_MASKS = ("static", "set")
MASK_SEED_OFFSET = 1_000_003  # sparse training's mask and regrowth streams, apart from the batches'


def qa_lines(world) -> list[str]:
    """The question-answer lines of the training facts (already in the corpus; the
    evaluation asks about the other half of the people)."""
    return [
        render_solved(
            RELATIONS[r]["task"], qa_row(RELATIONS[r]["task"], p, r, world.facts[p][r], 0)
        )
        for p, r in world.qa_train_pairs
    ]


def calibration(experiment, sequences: int, text: str = "corpus") -> list[torch.Tensor]:
    """``sequences`` windows of the calibration ``text``, seeded by the run's seed."""
    if text not in CALIBRATION_TEXTS:
        raise ValueError(
            f"calibration_text={text!r} is not allowed; choose one of {CALIBRATION_TEXTS}"
        )
    if text == "corpus":
        stream = experiment.stream()
    else:
        if experiment.settings.model != "toy":
            raise ValueError(
                "calibration_text='qa' builds QA lines from the toy world; model='toy' only"
            )
        stream = token_stream(experiment.tokenizer, ["\n".join(qa_lines(experiment.world))])
    return calibration_batches(
        stream, sequences, experiment.block_size, seed=experiment.settings.seed
    )


def prune(
    experiment,
    model,
    sparsity: float,
    score: str,
    pattern: str,
    allocation: str = "uniform",
    reconstruct: bool = False,
    calibration_text: str = "corpus",
    calibration_sequences: int = 128,
    reconstruction_sequences: int = 32,
) -> tuple[Pruner, list[dict]]:
    """Prune ``model`` once with these choices; returns the pruner and, with
    ``reconstruct``, each layer's output error before and after reconstruction."""
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation={allocation!r} is not allowed; choose one of {ALLOCATIONS}")
    if allocation != "uniform" and (pattern != "unstructured" or score != "magnitude"):
        raise ValueError("a non-uniform allocation prunes unstructured magnitude only")
    batches = None
    if score == "wanda" or allocation == "owl":
        batches = calibration(experiment, calibration_sequences, calibration_text)
    dense = {name: w.detach().clone() for name, w in Pruner(model).weights.items()}
    if allocation == "uniform":
        pruner = recipes.oneshot(
            model, sparsity, "layer", score, pattern, batches, experiment.settings.seed
        )
    else:
        pruner = Pruner(model)
        if allocation == "global":
            chosen = allocators.global_({n: w.abs() for n, w in dense.items()}, sparsity)
        else:
            wanda = wanda_scores(pruner, input_norms(pruner, model, batches))
            chosen = allocators.owl(wanda, sparsity)
        pruner.prune_allocation(chosen)  # refuses an allocation that misses a weight
    errors = []
    if reconstruct:  # fewer windows than Wanda's: each layer's pass costs a forward to it
        windows = calibration(experiment, reconstruction_sequences, calibration_text)
        errors = reconstruct_weights(pruner, model, windows, dense)
    return pruner, errors


def _layers(pruner: Pruner) -> list[dict]:
    return [{"name": row["name"], "sparsity": row["sparsity"]} for row in pruner.report()[:-1]]


def after_oneshot(
    experiment, sparsity: float, score: str, pattern: str, **choices: Any
) -> dict[str, Any]:
    """One-shot pruning with these choices (:func:`prune`'s: ``allocation``,
    ``reconstruct``, ``calibration_text``, ``calibration_sequences``,
    ``reconstruction_sequences``); no training."""
    model = experiment.fresh_model()
    pruner, errors = prune(experiment, model, sparsity, score, pattern, **choices)
    return {
        "scores": experiment.evaluate(model),
        "sparsity": pruner.sparsity(),
        "report": pruner.report()[-1],
        "layers": _layers(pruner),
        "reconstruction": errors,
    }


def after_finetuned(
    experiment,
    sparsity: float,
    score: str,
    pattern: str,
    steps: int,
    distill: float = 0.0,
    **choices: Any,
) -> dict[str, Any]:
    """:func:`after_oneshot`, then ``steps`` of fine-tuning with the masks held; with
    ``distill`` > 0, the dense model is the teacher (a KL term of that weight, T = 2)."""
    model = experiment.fresh_model()
    pruner, errors = prune(experiment, model, sparsity, score, pattern, **choices)
    args = experiment.train_args(steps)
    teacher = Distillation(experiment.baseline()[0], alpha=distill) if distill else None
    result = train(model, args["stream"], args["config"], args["block_size"],
                   HookList(pruner, teacher), args["device"], args["progress"])  # fmt: skip
    return {
        "scores": experiment.evaluate(model),
        "sparsity": pruner.sparsity(),
        "report": pruner.report()[-1],
        "history": result.history,
        "reconstruction": errors,
    }


def blocks_removed(experiment, count: int, steps: int, calibration_sequences=128) -> dict[str, Any]:
    """The ``count`` blocks of lowest influence on the corpus removed, then ``steps`` of
    fine-tuning (nothing to hold: the blocks are gone)."""
    model = experiment.fresh_model()
    before = parameter_counts(model)
    influence = block_influence(model, calibration(experiment, calibration_sequences))
    removed = remove_blocks(model, blocks_to_remove(influence, count))
    if steps:
        experiment.finetune(model, None, steps)
    after = parameter_counts(model)
    return {
        "scores": experiment.evaluate(model),
        "sparsity": (before["prunable"] - after["prunable"]) / before["prunable"],
        "influence": influence,
        "removed": removed,
        "parameters": after["total"],
        "removed_parameters": before["total"] - after["total"],
        "removed_prunable": before["prunable"] - after["prunable"],
        "prunable": before["prunable"],
    }


def sparse_trained(
    experiment,
    sparsity: float,
    steps: int,
    mask: str = "static",
    every: int = 100,
    fraction: float = 0.3,
    end_step: int | None = None,
) -> dict[str, Any]:
    """The toy GPT trained from scratch for ``steps`` under a random mask of ``sparsity`` in
    every prunable layer (the same count per layer as layer-wise magnitude pruning keeps),
    drawn from the run's seed at initialisation. ``mask``: ``static`` holds it; ``set``
    moves ``fraction`` of each layer's kept weights every ``every`` steps until
    ``end_step`` (SET: the smallest dropped, as many regrown at random, at zero). Trained
    as the baseline is (its recipe, batch size and seed, one CPU process), weights rounded
    to float16 at the end as the baseline's are."""
    if experiment.settings.model != "toy":
        raise ValueError("sparse training trains our toy GPT from scratch; set model='toy'")
    if mask not in SPARSE_MASKS:
        raise ValueError(f"mask={mask!r} is not allowed; choose one of {SPARSE_MASKS}")
    config = dataclasses.replace(experiment.baseline_train_config(), steps=steps)
    # Everything that may load the baseline (and draw from the global generator while it
    # does) comes before the seed: the initialisation must not depend on what ran before.
    stream = token_stream(experiment.tokenizer, experiment.world.train_documents)
    vocab_size = len(experiment.tokenizer)
    seed_everything(config.seed)
    model = small_gpt(experiment.model_config, vocab_size=vocab_size)
    # the mask and the regrowth draw from generators of their own (the batches use the seed)
    pruner = random_mask(model, sparsity, seed=config.seed + MASK_SEED_OFFSET)
    hooks = [pruner]
    if mask == "set":  # after the pruner's step: the masks it moves hold from the next one
        regrowth = config.seed + 2 * MASK_SEED_OFFSET
        hooks.append(SparseEvolution(pruner, every, fraction, end_step, seed=regrowth))
    result = train(model, stream, config, experiment.model_config.block_size, HookList(*hooks),
                   progress=experiment.progress, accelerator=LocalAccelerator("cpu"))  # fmt: skip
    round_weights(model)
    model = model.to(experiment.device).eval()
    return {
        "scores": experiment.evaluate(model),
        "sparsity": pruner.sparsity(),
        "report": pruner.report()[-1],
        "history": result.history,
        "moved": hooks[-1].moved if mask == "set" else [],
    }


AFTER_KINDS = {
    "after_oneshot": after_oneshot,
    "after_finetuned": after_finetuned,
    "blocks_removed": blocks_removed,
    "sparse_trained": sparse_trained,
}
