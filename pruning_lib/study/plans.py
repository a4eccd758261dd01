"""What each notebook computes, as plans: pure functions that return runs.

A plan is a :class:`~pruning_lib.study.runs.Run`, or a dict or list of them (nested), built
from the settings and the notebook's own parameters: nothing is trained or read but the
model's structure (``model.skeleton``). ``compute(experiment, plan)`` returns the results
in the plan's shape; ``reproduce`` computes the union of every notebook's runs
(:func:`notebook_runs`) first, then runs the notebooks, which find their runs cached.

The constructors (:func:`dense`, :func:`finetuned`...) resolve every default from the
settings, so that two notebooks asking for the same computation ask for the same run: 03's
fine-tuned run, 06's curve and 07's row at ``seed`` are one run. A fine-tuning of the
profile's method and pattern, layer by layer, at the profile's ``seed`` (the main sweep's)
records its recovery curve (:data:`CURVE_POINTS` evaluations along it, the last its final
score), which notebook 06 plots; other scores and patterns, and the other seeds, do not.

Example:
    >>> from pruning_lib.study.parameters import Settings
    >>> settings = Settings()
    >>> finetuned(settings, 0.5) == main_sweep(settings, [0.5], [0])[0][("fine-tuned", 0.5)]
    True
    >>> finetuned(settings, 0.5).kwargs["checkpoints"]
    (12, 25, 38, 50)
    >>> finetuned(settings, 0.5, score="random").kwargs["checkpoints"]  # not plotted: no curve
    ()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..patterns import parse_pattern
from ..schedules import Schedule
from ..structured import mlp_shape
from ..weights import input_axes, prunable_refs, resolve
from .kinds import SCAN_ITEMS
from .model import skeleton
from .parameters import Settings, StudyParameters
from .runs import Run

RECONSTRUCTION_SEQUENCES = 32  # 11: calibration windows of reconstruction (Wanda's: 128)
CURVE_POINTS = 4  # evaluations along each fine-tuning (notebook 06 plots them)
SCAN_SPARSITIES = (0.5, 0.7, 0.9)  # notebook 03's sensitivity scan, each layer alone
METHODS = ("magnitude", "wanda", "random")  # the scores of the equal-size study
STRUCTURED_FRACTIONS = (0.25, 0.5, 0.875)  # fractions benchmarks/bench_structured.py times
# 11: SET moves 30% of each layer's kept weights every 100 steps and stops at 3/4 of
# training (RigL's schedule; its fraction held, not decayed), so the last quarter trains a
# fixed mask.
SET_EVERY, SET_FRACTION, SET_END = 100, 0.3, 0.75


def curve(steps: int, points: int = CURVE_POINTS) -> tuple[int, ...]:
    """``points`` evenly spaced steps of a ``steps``-long fine-tuning, the last one last.

    Example:
        >>> curve(100), curve(6), curve(0)
        ((25, 50, 75, 100), (2, 3, 4, 6), ())
    """
    if not steps:
        return ()
    return tuple(sorted({max(1, round(steps * (i + 1) / points)) for i in range(points)}))


# -- one run -------------------------------------------------------------------------------
def _seed(settings: Settings, seed: int | None) -> int:
    return settings.seed if seed is None else seed


def dense(settings: Settings, seed: int | None = None) -> Run:
    return Run.of("dense", _seed(settings, seed))


def _curve(settings: Settings, seed: int, steps: int) -> tuple[int, ...]:
    # At the profile's seed only: notebook 06 plots those curves; the tables read final
    # scores, and a curve costs three evaluations a fine-tuning.
    return curve(steps) if seed == settings.seed else ()


def control(settings: Settings, seed: int | None = None, steps: int | None = None) -> Run:
    """The dense model fine-tuned as long as a pruned one (``steps``, default the profile's
    ``finetune_steps``): the reference of recovery, with its curve at the profile's seed."""
    seed, steps = _seed(settings, seed), settings.finetune_steps if steps is None else steps
    return Run.of("control", seed, steps=steps, checkpoints=_curve(settings, seed, steps))


def _pruning(settings, sparsity, scope, score, pattern) -> dict:
    score = settings.method if score is None else score
    args = {"sparsity": sparsity, "scope": scope, "score": score}
    args["pattern"] = settings.pattern if pattern is None else pattern
    if score == "wanda":
        args["calibration_sequences"] = settings.calibration_sequences
    return args


def oneshot(
    settings: Settings,
    sparsity: float,
    seed: int | None = None,
    scope: str = "layer",
    score: str | None = None,
    pattern: str | None = None,
) -> Run:
    """Pruning at once (``score`` and ``pattern`` default to the profile's ``method`` and
    ``pattern``); no training."""
    args = _pruning(settings, sparsity, scope, score, pattern)
    return Run.of("oneshot", _seed(settings, seed), **args)


def finetuned(
    settings: Settings,
    sparsity: float,
    seed: int | None = None,
    scope: str = "layer",
    score: str | None = None,
    pattern: str | None = None,
    checkpoints: Iterable[int] | None = None,
    steps: int | None = None,
) -> Run:
    """:func:`oneshot`, then ``steps`` (default: the profile's ``finetune_steps``) with the
    masks held, evaluated at ``checkpoints`` (default: the :func:`curve` for the main
    sweep's run at the profile's seed, none for the others)."""
    seed, steps = _seed(settings, seed), settings.finetune_steps if steps is None else steps
    args = _pruning(settings, sparsity, scope, score, pattern)
    if checkpoints is None:
        main = (scope, args["score"], args["pattern"]) == ("layer", settings.method,
                                                           settings.pattern)  # fmt: skip
        checkpoints = _curve(settings, seed, steps) if main else ()
    points = tuple(sorted({int(c) for c in checkpoints if 1 <= int(c) <= steps}))
    return Run.of("finetuned", seed, steps=steps, checkpoints=points, **args)


def threshold(
    settings: Settings,
    threshold: float | None = None,
    q: float | None = None,
    seed: int | None = None,
    match_q: float | None = None,
) -> Run:
    """``|w| < threshold``, or ``|w| < q`` times each layer's std, or (``match_q``) the one
    threshold that prunes as many weights in all as ``match_q`` times the std does."""
    extra = {} if match_q is None else {"match_q": match_q}
    return Run.of("threshold", _seed(settings, seed), threshold=threshold, q=q, **extra)


def layer_alone(settings: Settings, name: str, sparsity: float) -> Run:
    return Run.of("layer_alone", settings.seed, name=name, sparsity=sparsity, items=SCAN_ITEMS)


def allocated(settings: Settings, allocation: dict[str, float], seed: int | None = None) -> Run:
    """One-shot magnitude pruning, each weight to its own sparsity (``{name: sparsity}``)."""
    pairs = sorted([name, float(sparsity)] for name, sparsity in allocation.items())
    return Run.of("allocated", _seed(settings, seed), allocation=pairs)


def iterative(settings: Settings, sparsity: float, iterations: int, scope: str = "layer") -> Run:
    steps = settings.finetune_steps
    return Run.of("iterative", settings.seed, sparsity=sparsity, iterations=iterations,
                  scope=scope, steps=steps)  # fmt: skip


def scheduled(settings: Settings, schedule: Schedule, seed: int | None = None) -> Run:
    """Gradual pruning inside fine-tuning (long enough to pass the schedule's end)."""
    fields = dataclasses.asdict(schedule)
    fields["schedule"] = fields.pop("kind")
    steps = max(settings.finetune_steps, schedule.end_step + 1)
    return Run.of("scheduled", _seed(settings, seed), steps=steps, **fields)


def l1(
    settings: Settings, lam: float, sparsity: float, l1_steps: int, proximal=False,
    seed: int | None = None, finetune: bool = True,
) -> Run:  # fmt: skip
    """L1 training, magnitude pruning, then the profile's fine-tuning (``finetune=False``:
    none, for a comparison right after pruning)."""
    steps = settings.finetune_steps if finetune else 0
    return Run.of("l1", _seed(settings, seed), lam=lam, sparsity=sparsity, l1_steps=l1_steps,
                  steps=steps, proximal=proximal)  # fmt: skip


def structured(settings: Settings, fraction: float, finetune: bool, seed=None) -> Run:
    steps = settings.finetune_steps if finetune else 0
    return Run.of("structured", _seed(settings, seed), fraction=fraction, steps=steps)


def dense_small(settings: Settings, sparsity: float, seed: int | None = None) -> Run:
    """A dense toy model as large as magnitude pruning to ``sparsity`` keeps, trained for the
    baseline's steps plus the fine-tuning's."""
    steps = settings.baseline_steps + settings.finetune_steps
    return Run.of("dense_small", _seed(settings, seed), sparsity=sparsity, steps=steps)


def sparse_trained(settings: Settings, sparsity: float, mask: str, seed: int | None = None) -> Run:
    """A toy model trained from scratch under a random mask of ``sparsity`` (``mask``:
    ``static`` or ``set``), for the baseline's steps plus the fine-tuning's (dense-small's
    budget: the pruned model's whole training)."""
    steps = settings.baseline_steps + settings.finetune_steps
    moving = {}
    if mask == "set":
        moving = {"every": SET_EVERY, "fraction": SET_FRACTION, "end_step": round(SET_END * steps)}
    return Run.of("sparse_trained", _seed(settings, seed), sparsity=sparsity, steps=steps,
                  mask=mask, **moving)  # fmt: skip


# -- the model's structure -------------------------------------------------------------------
def layer_names(settings: Settings) -> list[str]:
    """The prunable weights of the profile's model, in model order."""
    return list(prunable_refs(skeleton(settings)))


def mlp_fraction(model, sparsity: float) -> float:
    """The share of MLP neurons whose removal takes as many parameters as unstructured
    ``sparsity`` of the prunable weights (rounded to whole neurons)."""
    layers, width, per_neuron = mlp_shape(model)
    prunable = sum(parameter.numel() for parameter, _ in prunable_refs(model).values())
    neurons = round(sparsity * prunable / per_neuron / layers)
    if neurons >= width:
        raise ValueError(
            f"sparsity={sparsity} removes more parameters than the MLPs hold; structured "
            "runs need a sparsity whose count the MLP neurons can give"
        )
    return neurons / width


def preflight(settings: Settings) -> None:
    """Refuse, before any work, what the settings' own values cannot show: a GPU that is not
    there, or an N:M pattern whose M does not divide every prunable weight's input
    dimension (read off the model's structure)."""
    if settings.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                "notebook parameters.device='cuda' but torch sees no GPU here; allowed: "
                "device: cpu or auto (slow for a hub model), or the tutorial profile"
            )
    nm = parse_pattern(settings.pattern)
    if nm is not None:
        model = skeleton(settings)
        refs = prunable_refs(model)
        axes = input_axes(model, refs)
        shapes = {
            name: resolve(ref).shape[:: 1 if axes[name] else -1] for name, ref in refs.items()
        }
        try:
            nm.check_shapes(shapes)
        except ValueError as error:
            raise ValueError(
                f"notebook parameters.pattern={settings.pattern!r} does not fit the model: "
                f"{error}; allowed: an N:M whose M divides every input dimension"
            ) from None


def matched_fraction(settings: Settings) -> float:
    """The share of MLP neurons whose removal takes what unstructured 0.5 takes."""
    return mlp_fraction(skeleton(settings), 0.5)


# -- the studies of several seeds --------------------------------------------------------------
def main_sweep(settings: Settings, sparsities, seeds) -> dict[int, dict[tuple[str, float], Run]]:
    """Tables 3 and 4 (notebook 07): at each seed, dense, the control, and each sparsity
    one-shot and fine-tuned; keyed by seed, then (variant, sparsity)."""
    plan = {}
    for seed in seeds:
        runs = {("dense", 0.0): dense(settings, seed), ("control", 0.0): control(settings, seed)}
        for sparsity in sparsities:
            runs[("one-shot", sparsity)] = oneshot(settings, sparsity, seed)
            runs[("fine-tuned", sparsity)] = finetuned(settings, sparsity, seed)
        plan[seed] = runs
    return plan


def percent(fraction: float) -> str:
    """A fraction to 0.1%, without a trailing ``.0``.

    Example:
        >>> percent(0.25), percent(0.875), percent(0.7480)
        ('25%', '87.5%', '74.8%')
    """
    return f"{fraction:.1%}".replace(".0%", "%")


def stage(finetune: bool) -> str:
    return "fine-tuned" if finetune else "one-shot"


def structured_label(fraction: float, finetune: bool) -> str:
    """The variant name of a structured run, e.g. ``structured 87.5% fine-tuned``."""
    return f"structured {percent(fraction)} {stage(finetune)}"


def equal_size(
    settings: Settings, sparsities, seeds, dense_small_seeds=(), finetuned_sparsities=()
) -> dict[int, dict[tuple[str, float | None], Run]]:
    """Quality at equal size (notebooks 09 and 10), keyed by seed, then (variant, sparsity).

    The dense model and the control (fine-tuned variants are measured against it); at each
    sparsity: magnitude, Wanda and random scores, unstructured and 2:4 (where the
    sparsity is 0.5: N:M fixes it), one-shot and fine-tuned (random one-shot only: notebook
    03 fine-tunes it); MLP neurons removed at the share that removes what unstructured 0.5
    removes (one-shot and fine-tuned), and at :data:`STRUCTURED_FRACTIONS` (fine-tuned,
    beside their measured speed in notebook 10; their sparsity, None here, is what they
    remove); and a dense model of the pruned size trained from scratch, at the seeds of
    ``dense_small_seeds`` (the toy model only); and magnitude unstructured fine-tuned at
    each of ``finetuned_sparsities`` too (notebook 10: the main sweep's runs, beside the
    speed of sparse kernels at those sparsities).
    """
    with_half = any(abs(s - 0.5) < 1e-9 for s in sparsities)
    fractions = {fraction: None for fraction in STRUCTURED_FRACTIONS}
    if with_half:
        fractions[matched_fraction(settings)] = 0.5
    plan = {}
    for seed in seeds:
        runs = {("dense", 0.0): dense(settings, seed), ("control", 0.0): control(settings, seed)}
        for sparsity in sparsities:
            patterns = ["unstructured"] + (["2:4"] if abs(sparsity - 0.5) < 1e-9 else [])
            for pattern in patterns:
                for method in METHODS:
                    for finetune in (False, True) if method != "random" else (False,):
                        make = finetuned if finetune else oneshot
                        variant = f"{method} {pattern} {stage(finetune)}"
                        runs[(variant, sparsity)] = make(settings, sparsity, seed, "layer",
                                                         method, pattern)  # fmt: skip
        for fraction, matched in sorted(fractions.items()):
            for finetune in (False, True) if matched is not None else (True,):
                run = structured(settings, fraction, finetune, seed)
                runs[(structured_label(fraction, finetune), matched)] = run
        if with_half and settings.model == "toy" and seed in dense_small_seeds:
            runs[("dense-small", 0.5)] = dense_small(settings, 0.5, seed)
        for sparsity in finetuned_sparsities:  # notebook 10: beside the CSR kernels' speed
            key = ("magnitude unstructured fine-tuned", sparsity)
            runs.setdefault(key, finetuned(settings, sparsity, seed, "layer", "magnitude",
                                           "unstructured"))  # fmt: skip
        plan[seed] = runs
    return plan


# -- each notebook's plan ----------------------------------------------------------------------
COMPARED_Q = 0.5  # notebook 02: q x std against one threshold at the same sparsity


def thresholds(settings: Settings, thresholds, q_values, seeds=()) -> dict:
    """Notebook 02: each absolute threshold, and each q times the layer's std; at each of
    ``seeds``, q = :data:`COMPARED_Q` and the one threshold that prunes as many weights."""
    return {
        "absolute": {t: threshold(settings, threshold=t) for t in thresholds},
        "relative": {q: threshold(settings, q=q) for q in q_values},
        "seeds": {
            seed: {
                "q": threshold(settings, q=COMPARED_Q, seed=seed),
                "threshold": threshold(settings, seed=seed, match_q=COMPARED_Q),
            }
            for seed in seeds
        },
    }


def rate(settings: Settings, sparsity: float, iterations: int, sensitivity_scan: bool) -> dict:
    """Notebook 03: one-shot (layer-wise, global, random), fine-tuned, iterative, the
    control, and each layer alone at :data:`SCAN_SPARSITIES` (the sensitivity scan)."""
    names = layer_names(settings) if sensitivity_scan else []
    return {
        "dense": dense(settings),
        "one-shot layer-wise": oneshot(settings, sparsity, scope="layer"),
        "one-shot global": oneshot(settings, sparsity, scope="global"),
        "random, layer-wise": oneshot(settings, sparsity, score="random"),
        "one-shot + fine-tuning": finetuned(settings, sparsity),
        "iterative + fine-tuning": iterative(settings, sparsity, iterations),
        "random + fine-tuning": finetuned(settings, sparsity, score="random"),
        "control (dense + fine-tuning)": control(settings),
        "scan": {
            (name, s): layer_alone(settings, name, s) for name in names for s in SCAN_SPARSITIES
        },
    }


def schedules(
    settings: Settings, kinds, initial: float, target: float, end_step: int, frequency: int,
    high_sparsity: float, seeds=(), varied_initial: float | None = None,
) -> dict:  # fmt: skip
    """Notebook 04: each kind of schedule to ``target``; constant and cubic to
    ``high_sparsity`` at each of ``seeds`` (the profile's seed first); and the cubic
    schedule from ``varied_initial`` instead of ``initial``."""
    made = {
        "target": {kind: Schedule(kind, initial, target, 0, end_step, frequency) for kind in kinds},
        "high": {
            kind: Schedule(kind, initial, high_sparsity, 0, end_step, frequency)
            for kind in ("constant", "cubic")
        },
    }
    runs = {part: {k: scheduled(settings, v) for k, v in made[part].items()} for part in made}
    runs["seeds"] = {
        seed: {kind: scheduled(settings, made["high"][kind], seed) for kind in made["high"]}
        for seed in seeds
    }
    if varied_initial is not None:
        schedule = Schedule("cubic", varied_initial, target, 0, end_step, frequency)
        runs["varied_initial"] = scheduled(settings, schedule)
    steps = max(settings.finetune_steps, end_step + 1)  # a scheduled run's training
    return {"dense": dense(settings), "control": control(settings, steps=steps), **runs}


def l1_sweep(
    settings: Settings, lambdas, l1_steps: int, l1_sparsity: float, high_sparsity: float,
    seeds=(),
) -> dict:  # fmt: skip
    """Notebook 05: each λ at ``l1_sparsity``, the proximal step at the largest λ, and no
    L1 against the proximal step at ``high_sparsity``; at each of ``seeds``, the same
    sweep and high pair up to pruning (no fine-tuning: the comparisons made right after
    pruning; the profile's seed reads its fine-tuned runs, whose pruned scores are the
    same)."""
    largest = max(lambdas)

    def run(lam, sparsity, proximal=False, seed=None):
        finetune = seed is None or seed == settings.seed
        return l1(settings, lam, sparsity, l1_steps, proximal, seed, finetune)

    def high(seed=None):
        return {"no L1": run(0.0, high_sparsity, seed=seed),
                "proximal": run(largest, high_sparsity, True, seed)}  # fmt: skip

    return {
        "sweep": {lam: run(lam, l1_sparsity) for lam in lambdas},
        "proximal": run(largest, l1_sparsity, proximal=True),
        "high": high(),
        "seeds": {
            seed: {
                "sweep": {lam: run(lam, l1_sparsity, seed=seed) for lam in lambdas},
                "high": high(seed),
            }  # fmt: skip
            for seed in seeds
        },
    }


EARLY_STEPS = (1, 2, 5, 10, 20, 50)  # notebook 06's closer look at the first steps


def finetuning(settings: Settings, sparsities) -> dict:
    """Notebook 06: the recovery curve at each sparsity and of the control, and the most
    pruned run evaluated along its first steps."""
    most = max(sparsities)
    early = (*EARLY_STEPS, settings.finetune_steps)
    return {
        "curves": {s: finetuned(settings, s) for s in sparsities},
        "control": control(settings),
        "early": finetuned(settings, most, checkpoints=early),
    }


def after_magnitude(settings: Settings, sparsities, seeds, distill: float, blocks: int) -> dict:
    """Notebook 11, at each seed: magnitude pruning beside what comes after it (see
    :mod:`~pruning_lib.study.after`), keyed by seed, then (variant, sparsity). Unstructured
    at each of ``sparsities``, 2:4 beside it where it gives the same sparsity (0.5); the
    teacher's weight ``distill``; ``blocks`` transformer blocks removed, beside unstructured
    magnitude pruning of the same share of the prunable weights."""
    steps = settings.finetune_steps
    calibration = settings.calibration_sequences
    layers = skeleton(settings).config.num_hidden_layers
    if not 1 <= blocks < layers:
        raise ValueError(
            f"notebook parameters.removed_blocks={blocks} is out of range for a model of "
            f"{layers} blocks; allowed: [1, {layers - 1}] (at least one block stays)"
        )
    share = blocks / layers  # every block the same size
    refit = {"reconstruct": True, "reconstruction_sequences": RECONSTRUCTION_SEQUENCES}
    plan = {}
    for seed in seeds:

        def after(sparsity, score="magnitude", pattern="unstructured", seed=seed, **choices):
            return Run.of("after_oneshot", seed, sparsity=sparsity, score=score, pattern=pattern,
                          calibration_sequences=calibration, **choices)  # fmt: skip

        def tuned(sparsity, seed=seed, **choices):
            return Run.of("after_finetuned", seed, sparsity=sparsity, score="magnitude",
                          pattern="unstructured", steps=steps, calibration_sequences=calibration,
                          **choices)  # fmt: skip

        runs = {("dense", 0.0): dense(settings, seed), ("control", 0.0): control(settings, seed)}
        for p in sparsities:
            runs[("magnitude", p)] = oneshot(settings, p, seed, score="magnitude",
                                             pattern="unstructured")  # fmt: skip
            runs[("magnitude + reconstruction", p)] = after(p, **refit)
            runs[("Wanda", p)] = oneshot(settings, p, seed, score="wanda", pattern="unstructured")
            runs[("Wanda + reconstruction", p)] = after(p, "wanda", **refit)
            if settings.model == "toy":  # QA lines of the toy world's training facts
                runs[("Wanda on QA text", p)] = after(p, "wanda", calibration_text="qa")
                runs[("reconstruction on QA text", p)] = after(p, calibration_text="qa", **refit)
            runs[("global allocation", p)] = after(p, allocation="global")
            runs[("OWL allocation", p)] = after(p, allocation="owl")
            runs[("magnitude, fine-tuned", p)] = finetuned(settings, p, seed, score="magnitude",
                                                           pattern="unstructured")  # fmt: skip
            runs[("reconstruction, fine-tuned", p)] = tuned(p, **refit)
            runs[("distilled, fine-tuned", p)] = tuned(p, distill=distill)
            if abs(p - 0.5) < 1e-9:
                for score in ("magnitude", "wanda"):
                    name = "magnitude" if score == "magnitude" else "Wanda"
                    runs[(f"{name} 2:4", p)] = oneshot(
                        settings, p, seed, score=score, pattern="2:4"
                    )
                    runs[(f"{name} 2:4 + reconstruction", p)] = after(p, score, "2:4", **refit)
        runs[("blocks removed", share)] = Run.of("blocks_removed", seed, count=blocks, steps=0)
        runs[("blocks removed, fine-tuned", share)] = Run.of("blocks_removed", seed, count=blocks,
                                                             steps=steps)  # fmt: skip
        runs[("magnitude", share)] = oneshot(settings, share, seed, score="magnitude",
                                             pattern="unstructured")  # fmt: skip
        runs[("magnitude, fine-tuned", share)] = finetuned(settings, share, seed,
                                                           score="magnitude",
                                                           pattern="unstructured")  # fmt: skip
        plan[seed] = runs
    return plan


SPARSE_VARIANTS = ("sparse, static mask", "sparse, SET")


def sparse_training(settings: Settings, sparsity: float, seeds) -> dict:
    """Notebook 11's sparse training, at each seed: a model trained from scratch under a
    static random mask and under SET's moving one, against magnitude pruning of the trained
    dense model then fine-tuning (the same total steps), dense-small (as many parameters,
    dense, the same steps) and the control. Toy model only: it trains from scratch."""
    if seeds and settings.model != "toy":
        raise ValueError(
            f"notebook parameters.sparse_training_seeds={list(seeds)!r} trains our toy GPT from "
            f"scratch, but model={settings.model!r}; allowed: [] unless model is 'toy'"
        )
    plan = {}
    for seed in seeds:
        plan[seed] = {
            ("dense", 0.0): dense(settings, seed),
            ("control", 0.0): control(settings, seed),
            ("magnitude, fine-tuned", sparsity): finetuned(
                settings, sparsity, seed, score="magnitude", pattern="unstructured"
            ),
            ("dense-small", sparsity): dense_small(settings, sparsity, seed),
            ("sparse, static mask", sparsity): sparse_trained(settings, sparsity, "static", seed),
            ("sparse, SET", sparsity): sparse_trained(settings, sparsity, "set", seed),
        }
    return plan


ANSWER_AFTER = ("control", "reconstruction, fine-tuned", "distilled, fine-tuned",
                "blocks removed, fine-tuned")  # fmt: skip


def answer_after(settings: Settings, seeds, distill: float, blocks: int) -> dict:
    """Notebook 10's rows from notebook 11: at each seed, the control and the fine-tuned
    refitted, distilled (unstructured 0.5) and shortened models (notebook 11's runs)."""
    full = after_magnitude(settings, [0.5], seeds, distill, blocks)
    return {
        seed: {key: run for key, run in runs.items() if key[0] in ANSWER_AFTER}
        for seed, runs in full.items()
    }


NOTEBOOK_PLANS = {
    "01_baseline": lambda s, p: dense(s),
    "02_threshold": lambda s, p: thresholds(s, p.thresholds, p.q_values, p.seeds),
    "03_rate": lambda s, p: rate(s, p.sparsity, p.iterations, p.sensitivity_scan),
    "04_schedules": lambda s, p: schedules(
        s,
        p.schedule_kinds,
        p.initial_sparsity,
        p.target_sparsity,
        p.schedule_end_step,
        p.schedule_frequency,
        p.high_sparsity,
        p.seeds,
        p.varied_initial_sparsity,
    ),  # fmt: skip
    "05_l1_regularization": lambda s, p: l1_sweep(
        s, p.l1_lambdas, p.l1_steps, p.l1_sparsity, p.high_sparsity, p.seeds
    ),
    "06_finetuning": lambda s, p: finetuning(s, p.sparsities),
    "07_results": lambda s, p: main_sweep(s, p.sparsities, p.seeds),
    "08_efficiency": lambda s, p: [],
    "09_scores_patterns": lambda s, p: equal_size(
        s, p.equal_size_sparsities, p.equal_size_seeds, p.dense_small_seeds
    ),
    "10_efficiency_answer": lambda s, p: [
        equal_size(
            s, p.equal_size_sparsities, p.equal_size_seeds, p.dense_small_seeds, p.sparsities
        ),
        answer_after(s, p.equal_size_seeds, p.distill_weight, p.removed_blocks),
    ],
    "11_after_magnitude": lambda s, p: [
        after_magnitude(s, p.after_sparsities, p.seeds, p.distill_weight, p.removed_blocks),
        sparse_training(s, p.sparse_training_sparsity, p.sparse_training_seeds),
    ],
}


def runs_in(plan) -> list[Run]:
    """Every run of a plan, each once, in the plan's order."""
    found: dict[Run, None] = {}
    stack = [plan]
    while stack:
        item = stack.pop(0)
        if isinstance(item, Run):
            found[item] = None
        elif isinstance(item, dict):
            stack[:0] = list(item.values())
        elif isinstance(item, (list, tuple)):
            stack[:0] = list(item)
        else:
            raise ValueError(f"a plan holds runs, dicts and lists, not {item!r}")
    return list(found)


def notebook_runs(notebook: str, settings: Settings, study: StudyParameters) -> list[Run]:
    """The runs ``notebook`` asks for with these parameters."""
    return runs_in(NOTEBOOK_PLANS[notebook](settings, study))
