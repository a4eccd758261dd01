"""Quality at equal size: which way of removing half the weights costs the least?

Notebook 09 asks it of the toy model at several seeds; notebook 10 puts the answer beside the
measured speed. At each sparsity of ``equal_size_sparsities`` (tutorial: 0.5;
``params/study.yaml``: 0.5 and 0.7):

- **score**: magnitude, Wanda (|W| times each input's norm over calibration windows, compared
  within each output row), one-shot and fine-tuned, and random (the control), one-shot;
- **pattern**: unstructured, and 2:4 where the sparsity is 0.5 (an N:M pattern fixes the
  sparsity at 1 - N/M, so 0.7 has no 2:4 run);
- **structured**: whole MLP neurons removed: 25%, 50% and 87.5% (with 75%, the fractions
  ``benchmarks/bench_structured.py`` times; fine-tuned only, for notebook 10's table) and the
  share that removes as many parameters as unstructured 0.5, one-shot and fine-tuned (about
  75%; the attention matrices are a third of the prunable weights, so 0.7 cannot be reached
  through the MLP alone);
- **dense-small**: a dense model of the same family with about as many parameters as the
  pruned model keeps, trained from scratch for the baseline's steps plus the fine-tuning
  steps (the same total budget), at the seeds of ``dense_small_seeds`` (seven minutes each:
  the tutorial trains none, the study profile all three; its comparison is paired over those
  seeds alone).

Random is not fine-tuned here (notebook 03 fine-tunes it at one seed): three fine-tunings of
24 s each would take 09 alone past five minutes.
Every run is cached like the notebooks' others (``Experiment.cached``). A notebook runs only
the variants it shows (``collect``'s ``variants``): 09 those it compares
(:func:`scores_and_patterns`), 10 those its answer table reads (``answer.study_variants``),
so that each alone takes minutes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from typing import Any

from ..efficiency import parameter_counts
from ..structured import _layers, _mlp_modules, _spec, output_rows, shrink_mlp
from .baseline import build_baseline
from .beside import EQUAL_SIZE_STEP, helping
from .experiment import Experiment
from .model import load_causal_lm, small_gpt
from .results import QA_TASKS, make_records, mean_record, with_seed
from .tasks import TASK_NAMES
from .uncertainty import paired, verdict

METHODS = ("magnitude", "wanda", "random")


def grid(sparsities: list[float]) -> list[tuple[str, str, float, bool]]:
    """The (score, pattern, sparsity, fine-tuned) runs of the grid, in display order."""
    runs = []
    for sparsity in sparsities:
        patterns = ["unstructured"] + (["2:4"] if abs(sparsity - 0.5) < 1e-9 else [])
        for pattern in patterns:
            for method in METHODS:
                runs.append((method, pattern, sparsity, False))
                if method != "random":
                    runs.append((method, pattern, sparsity, True))
    return runs


def label(method: str, pattern: str, finetuned: bool) -> str:
    """The variant name of a grid run, e.g. ``wanda 2:4 fine-tuned``."""
    return f"{method} {pattern} {'fine-tuned' if finetuned else 'one-shot'}"


def mlp_fraction(model, sparsity: float) -> float:
    """The share of MLP neurons whose removal takes as many parameters as unstructured
    ``sparsity`` of the prunable weights (rounded to whole neurons)."""
    where, spec = _spec(model)
    layers = _layers(model)
    ups, down = _mlp_modules(layers[0], where, spec)
    width = output_rows(down).shape[1]  # the down projection reads every neuron
    # Each neuron owns a row of every up projection (with its bias) and a column of the down
    # projection (whose bias stays).
    owned = sum(sum(p.numel() for p in up.parameters()) for up in ups) + down.weight.numel()
    per_neuron = owned // width
    target = sparsity * parameter_counts(model)["prunable"]
    neurons = round(target / per_neuron / len(layers))
    if neurons >= width:
        raise ValueError(
            f"sparsity={sparsity} removes more parameters than the MLPs hold; structured "
            "runs need a sparsity whose count the MLP neurons can give"
        )
    return neurons / width


def matched_fraction(experiment: Experiment) -> float:
    """The share of MLP neurons whose removal takes what unstructured 0.5 takes."""
    return mlp_fraction(experiment.baseline()[0], 0.5)


def percent(fraction: float) -> str:
    """A fraction to 0.1%, without a trailing ``.0``.

    Example:
        >>> percent(0.25), percent(0.875), percent(0.7480)
        ('25%', '87.5%', '74.8%')
    """
    return f"{fraction:.1%}".replace(".0%", "%")


def structured_label(fraction: float, finetuned: bool) -> str:
    """The variant name of a structured run, e.g. ``structured 87.5% fine-tuned``."""
    return f"structured {percent(fraction)} {'fine-tuned' if finetuned else 'one-shot'}"


def structured(experiment: Experiment, fraction: float, finetune: bool) -> dict[str, Any]:
    """``fraction`` of every layer's MLP neurons removed (weight-norm score); optionally
    fine-tuned (nothing to hold: the removed neurons are gone)."""
    steps = experiment.settings.finetune_steps if finetune else 0

    def compute():
        model = experiment.fresh_model()
        prunable = parameter_counts(model)["prunable"]
        result = shrink_mlp(model, fraction)
        if steps:
            experiment._finetune(model, None, steps)
        counts = parameter_counts(model)
        return {
            "scores": experiment.evaluate(model),
            "fraction": fraction,
            "kept_neurons": result["kept"],
            "parameters": counts["total"],
            "sparsity": 1 - counts["prunable"] / prunable,  # of the original prunable weights
        }

    key = experiment.key("structured", fraction=fraction, steps=steps)
    return experiment.cached(key, compute)


STRUCTURED_FRACTIONS = (0.25, 0.5, 0.875)  # fractions benchmarks/bench_structured.py times


def small_width(experiment: Experiment, parameters: int) -> int:
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


def dense_small(experiment: Experiment, parameters: int) -> dict[str, Any]:
    """A dense toy model with about ``parameters`` parameters, trained from scratch for the
    baseline's steps plus the fine-tuning steps (the pruned model's total budget)."""
    if experiment.settings.model != "toy":
        raise ValueError("dense-small trains our toy GPT from scratch; set model='toy'")
    width = small_width(experiment, parameters)
    model_config = dataclasses.replace(experiment.model_config, n_embd=width)
    train_config = experiment.baseline_train_config()
    train_config.steps += experiment.settings.finetune_steps

    def compute():
        folder = build_baseline(
            experiment.world_config,
            model_config,
            train_config,
            experiment.cache,
            experiment.progress,
        )
        model, _ = load_causal_lm(folder)
        model = model.to(experiment.device).eval()
        return {
            "scores": experiment.evaluate(model),
            "width": width,
            "parameters": parameter_counts(model)["total"],
        }

    key = experiment.key("dense_small", width=width, steps=train_config.steps)
    return experiment.cached(key, compute)


Step = Callable[[], dict[tuple[str, float], dict[str, Any]]]


def _named_plan(
    experiment: Experiment, sparsities: list[float], with_dense_small: bool
) -> list[tuple[str, Step]]:
    """Every step of one seed with the variant it runs, in display order."""
    plan: list[tuple[str, Step]] = [("dense", lambda: {("dense", 0.0): experiment.dense()})]
    for method, pattern, sparsity, finetuned in grid(sparsities):

        def run_grid(method=method, pattern=pattern, sparsity=sparsity, finetuned=finetuned):
            # No recovery curve (evaluations cost time): magnitude unstructured is then
            # the run 07's main sweep makes at every seed but its own (one key, one run).
            run = experiment.oneshot(
                sparsity, "layer", finetune=finetuned, score=method, pattern=pattern,
                curve_points=0,
            )  # fmt: skip
            return {(label(method, pattern, finetuned), sparsity): run}

        plan.append((label(method, pattern, finetuned), run_grid))
    # Keyed by the share of prunable weights removed (0.01 steps); the matched run by 0.5.
    fractions = {fraction: None for fraction in STRUCTURED_FRACTIONS}
    if 0.5 in sparsities:
        fractions[matched_fraction(experiment)] = 0.5
    for fraction, matched in sorted(fractions.items()):
        # The matched share is compared with unstructured 0.5 one-shot and fine-tuned (09);
        # the others only fine-tuned, beside their measured speed (10).
        for finetuned in (False, True) if matched is not None else (True,):

            def run_structured(fraction=fraction, matched=matched, finetuned=finetuned):
                run = structured(experiment, fraction, finetune=finetuned)
                sparsity = matched if matched is not None else round(run["sparsity"], 2)
                return {(structured_label(fraction, finetuned), sparsity): run}

            plan.append((structured_label(fraction, finetuned), run_structured))
    if 0.5 in sparsities and with_dense_small:

        def run_dense_small():
            one_shot = experiment.oneshot(0.5, "layer", score="magnitude", pattern="unstructured")
            return {("dense-small", 0.5): dense_small(experiment, nonzero(experiment, one_shot))}

        plan.append(("dense-small", run_dense_small))
    return plan


def seed_plan(
    experiment: Experiment,
    sparsities: list[float],
    with_dense_small: bool,
    variants: Collection[str] | None = None,
) -> list[Step]:
    """The runs of one seed as steps in display order; each step runs (or reads from the
    cache) what it names and returns it keyed by (variant, sparsity). ``variants`` (None:
    all) keeps the steps of the variants it names (see :func:`variant_names`). Steps are
    independent: any order fills the same cache (``help_seed`` walks them backwards)."""
    plan = _named_plan(experiment, sparsities, with_dense_small)
    if variants is not None:
        known = set(variant_names(experiment, sparsities))  # dense-small at any seed
        unknown = sorted(set(variants) - known)
        if unknown:
            raise ValueError(f"variants: {unknown} are not in the study; allowed: {sorted(known)}")
    return [step for name, step in plan if variants is None or name in variants]


def variant_names(experiment: Experiment, sparsities: list[float]) -> list[str]:
    """The variants of the study at ``sparsities``, in display order (dense-small too)."""
    return [name for name, _ in _named_plan(experiment, sparsities, with_dense_small=True)]


def scores_and_patterns(experiment: Experiment, sparsities: list[float]) -> list[str]:
    """What notebook 09 compares: every variant but the structured fractions other than the
    one matched to unstructured 0.5 (notebook 10 sets those beside their measured speed)."""
    matched = set()
    if 0.5 in sparsities:
        fraction = matched_fraction(experiment)
        matched = {structured_label(fraction, False), structured_label(fraction, True)}
    return [
        name
        for name in variant_names(experiment, sparsities)
        if not name.startswith("structured ") or name in matched
    ]


def run_step(
    experiment: Experiment,
    sparsities: list[float],
    with_dense_small: bool,
    index: int,
    variants: list[str] | None = None,
) -> None:
    """Run (or find in the cache) step ``index`` of :func:`seed_plan`: what a notebook's
    helper process runs (``beside.EQUAL_SIZE_STEP``)."""
    steps = seed_plan(experiment, sparsities, with_dense_small, variants)
    if not 0 <= index < len(steps):
        raise ValueError(f"index={index} is out of range; allowed: [0, {len(steps) - 1}]")
    steps[index]()


def helper_calls(
    experiment: Experiment,
    sparsities: list[float],
    seeds: list[int],
    small: list[int],
    variants: Collection[str] | None = None,
) -> list[tuple[str, dict[str, Any], int]]:
    """Every step of the study (of ``variants``; None: all) at every seed, in the order
    :func:`collect` runs them, as calls of :func:`beside.beside`. Every seed's plan has the
    same steps (the matched fraction depends on the architecture alone) but dense-small,
    which comes last."""
    chosen = None if variants is None else sorted(variants)
    count = len(seed_plan(experiment, sparsities, False, chosen))
    calls = []
    for seed in seeds:
        args = {"sparsities": list(sparsities), "with_dense_small": seed in small}
        if chosen is not None:
            args["variants"] = chosen
        has_small = seed in small and (chosen is None or "dense-small" in chosen)
        for index in range(count + has_small):
            calls.append((EQUAL_SIZE_STEP, {**args, "index": index}, seed))
    return calls


def seed_runs(
    experiment: Experiment,
    sparsities: list[float],
    with_dense_small: bool,
    variants: Collection[str] | None = None,
) -> dict[tuple[str, float], dict[str, Any]]:
    """The runs of one seed (those of ``variants``; None: all), keyed by (variant,
    sparsity)."""
    runs: dict[tuple[str, float], dict[str, Any]] = {}
    for step in seed_plan(experiment, sparsities, with_dense_small, variants):
        runs.update(step())
    return runs


def nonzero(experiment: Experiment, run: dict[str, Any]) -> int:
    """Non-zero parameters of the whole model after a pruning run (embeddings included)."""
    counts = parameter_counts(experiment.baseline()[0])
    return counts["nonzero"] - counts["prunable_nonzero"] + run["report"]["nonzero"]


def dense_small_at(settings, sparsities, seeds, dense_small_seeds) -> list[int]:
    """The seeds at which dense-small runs: those of ``dense_small_seeds`` in ``seeds``, when
    the grid has 0.5 (its size) and the model is our toy GPT (trained from scratch)."""
    if settings.model != "toy" or 0.5 not in sparsities:
        return []
    return [seed for seed in seeds if seed in dense_small_seeds]


SMALL_VARIANTS = (("dense", 0.0), ("magnitude unstructured fine-tuned", 0.5), ("dense-small", 0.5))


def collect(
    experiment: Experiment,
    sparsities: list[float],
    seeds: list[int],
    dense_small_seeds: list[int] = (),
    variants: Collection[str] | None = None,
) -> dict[str, Any]:
    """The grid at every seed as records (see ``results.make_records``) and the size of
    each variant's model. Dense-small runs only at ``dense_small_seeds`` (training it takes
    minutes), so its records, and those it is compared with, are over those seeds alone.
    ``variants`` (None: all; see :func:`variant_names`) runs only those, and dense, which
    every comparison needs (with dense-small, the variants it is compared with too)."""
    if variants is not None:
        chosen = {"dense", *variants}
        if "dense-small" in chosen:
            chosen.update(variant for variant, _ in SMALL_VARIANTS)
        variants = [name for name in variant_names(experiment, sparsities) if name in chosen]
        unknown = sorted(chosen - set(variants))
        if unknown:
            allowed = variant_names(experiment, sparsities)
            raise ValueError(f"variants: {unknown} are not in the study; allowed: {allowed}")
    small = dense_small_at(experiment.settings, sparsities, seeds, dense_small_seeds)
    if variants is not None and "dense-small" not in variants:
        small = []
    # Alone, a helper process runs the steps from the last seed's last while this one runs
    # them from the first (``beside``); under `reproduce` the second core is already busy.
    with helping(experiment, helper_calls(experiment, sparsities, seeds, small, variants)):
        sweeps = [
            seed_runs(with_seed(experiment, seed), sparsities, seed in small, variants)
            for seed in seeds
        ]
    n_items = {task: len(sets) for task, sets in experiment.eval_sets().items()}
    small_sweeps = [
        {key: sweep[key] for key in SMALL_VARIANTS}
        for seed, sweep in zip(seeds, sweeps)
        if seed in small
    ]
    for sweep in sweeps:
        sweep.pop(("dense-small", 0.5), None)
    records = make_records(sweeps, n_items)
    sizes = {}
    for (variant, sparsity), run in sweeps[0].items():
        if "report" in run:
            sizes[(variant, sparsity)] = nonzero(experiment, run)
        else:
            sizes[(variant, sparsity)] = (
                run.get("parameters") or parameter_counts(experiment.baseline()[0])["total"]
            )
    if small_sweeps:
        sizes[("dense-small", 0.5)] = small_sweeps[0][("dense-small", 0.5)]["parameters"]
    return {
        "records": records,
        "small_records": make_records(small_sweeps, n_items) if small_sweeps else [],
        "small_seeds": small,
        "sizes": sizes,
        "seeds": list(seeds),
        "runs": sweeps,
    }


def _records(study: dict[str, Any], *variants: str) -> list[dict[str, Any]]:
    """The records that hold ``variants`` at the same seeds (dense-small's own seeds)."""
    return study["small_records"] if "dense-small" in variants else study["records"]


def mean_of(study: dict[str, Any], variant: str, sparsity: float, tasks=QA_TASKS) -> dict:
    """The record of ``variant``'s mean score over ``tasks`` (see ``results.mean_record``)."""
    return mean_record(_records(study, variant), variant, sparsity, tasks)


def rows(study: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per variant: parameters kept, mean QA and mean of all six, each with its 95%
    half-width (seeds and items), and the seeds it rests on."""
    out = []
    for variant, sparsity in study["sizes"]:
        qa = mean_of(study, variant, sparsity)
        every = mean_of(study, variant, sparsity, TASK_NAMES)
        seeds = study["small_seeds"] if variant == "dense-small" else study["seeds"]
        out.append(
            {
                "variant": variant,
                "sparsity": sparsity,
                "parameters": study["sizes"][(variant, sparsity)],
                "mean QA": f"{qa['mean']:.3f} ± {qa['ci_high'] - qa['mean']:.3f}",
                "mean of six": f"{every['mean']:.3f} ± {every['ci_high'] - every['mean']:.3f}",
                "seeds": ",".join(str(seed) for seed in seeds),
            }
        )
    return out


def compare(
    study: dict[str, Any], a: tuple[str, float], b: tuple[str, float], tasks=QA_TASKS
) -> tuple[float, float, str]:
    """``a`` minus ``b`` in the mean score of ``tasks``, paired by seed: (value, 95%
    half-width, a sentence that the numbers decide)."""
    records = _records(study, a[0], b[0])
    first = mean_record(records, *a, tasks)
    second = mean_record(records, *b, tasks)
    value, noise = paired(first, second)
    what = f"{a[0]} − {b[0]} at {a[1]:g} (mean {'QA' if tasks == QA_TASKS else 'score'})"
    if records is study["small_records"]:
        what += f", seeds {study['small_seeds']}"
    sentence = verdict(what, value, noise)
    if abs(value) > noise:
        sentence += f": {a[0] if value > 0 else b[0]} wins"
    else:
        sentence += ": the toy model cannot separate them"
    return value, noise, sentence


def _study_experiment(parameters: dict[str, Any]):
    """The experiment that ``parameters`` (a merged profile) set, its study parameters and
    the seeds at which dense-small runs."""
    from .parameters import SHARED, check_parameters

    settings, study = check_parameters(
        {
            k: v
            for k, v in parameters.items()
            if k in SHARED or k.startswith(("equal_size", "dense"))
        }
    )
    small = dense_small_at(
        settings, study.equal_size_sparsities, study.equal_size_seeds, study.dense_small_seeds
    )
    return Experiment(settings, progress=False), study, small


def prefetch(parameters: dict[str, Any]) -> list[int]:
    """Run the study at every seed of ``equal_size_seeds`` but ``seed`` into the cache, from
    the last seed's last step to the first's first: notebooks 09 and 10 walk the seeds from
    the first (``seed``'s own runs, then the others'), so the two processes meet in the
    middle instead of one waiting, run after run, for the other's claim. Returns those
    seeds."""
    experiment, study, small = _study_experiment(parameters)
    seed = experiment.settings.seed
    others = [other for other in study.equal_size_seeds if other != seed]
    for other in reversed(others):
        plan = seed_plan(with_seed(experiment, other), study.equal_size_sparsities, other in small)
        for step in reversed(plan):
            step()
    return others


def help_seed(parameters: dict[str, Any]) -> int:
    """Run the study of ``seed`` itself, from its last step to its first, into the cache.

    Notebook 09 runs the same steps from the first: the two processes meet in the middle
    (a step one of them has claimed, the other waits for, ``files.compute_once``), so the
    second core shares the notebook's work instead of idling when its own part is done.
    Returns the number of steps."""
    experiment, study, small = _study_experiment(parameters)
    seed = experiment.settings.seed
    if seed not in study.equal_size_seeds:
        return 0
    steps = seed_plan(experiment, study.equal_size_sparsities, seed in small)
    for step in reversed(steps):
        step()
    return len(steps)
