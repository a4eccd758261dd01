"""Every notebook parameter, in one schema that the notebooks, the library and
``pruning-lib reproduce`` share.

- :class:`Settings`: the parameters every notebook shares (model, data, training,
  evaluation); the settings a run's kind lists in ``runs.SHAPED_BY`` are in its cache key.
- :class:`StudyParameters`: the parameters of single notebooks (sparsities, thresholds,
  schedules, L1 λ values, latency), with their ranges and relations.

:func:`check_parameters` checks a whole profile (unknown keys, types, ranges,
relations, paths) before any work starts; a notebook's ``start(globals())`` checks the
same schema, so a value refused by ``reproduce`` is refused in JupyterLab too.

Example:
    >>> check_parameters({"schedule_frequency": 0})
    Traceback (most recent call last):
    ...
    ValueError: notebook parameters.schedule_frequency=0 is out of range; allowed: [1, 10000000]
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..config import bounded, bounded_items, from_dict
from ..evaluation.tasks import TASK_NAMES
from ..patterns import parse_pattern

MAX_STEPS = 10**7  # a bound on every step count: a typo such as 1e23 is refused, not run
MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit
SECTION = "notebook parameters"
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Settings:
    """Parameters shared by every notebook (each notebook adds its own)."""

    section = SECTION
    profile: str = "tutorial"  # results go to runs/<profile>/
    seed: int = bounded(0, 0, MAX_SEED)  # training seed: initialisation and data order
    world_seed: int = bounded(0, 0, MAX_SEED)  # the toy world: fixed while seeds vary
    threads: int = bounded(1, 1, 1024)  # torch CPU threads; 1 makes CPU results core-independent
    device: Literal["auto", "cpu", "cuda"] = "auto"
    model: str = "toy"  # "toy" trains our small GPT; else a hub name or a local folder
    datasets: str = "toy"  # "toy", "hub", or a folder of <task>.jsonl files in hub schemas
    corpus: str = "toy"  # fine-tuning text: "toy", "hub" (WikiText-103) or a local file
    corpus_limit: int | None = bounded(None, 1, None)  # documents read from a hub/file corpus
    toy_size: Literal["tutorial", "smoke"] = "tutorial"
    baseline_steps: int = bounded(1600, 0, MAX_STEPS)  # training steps of the toy baseline
    baseline_learning_rate: float = bounded(3e-3, 0, 10, low_open=True)
    finetune_steps: int = bounded(50, 0, MAX_STEPS)  # optimizer steps of each fine-tuning
    finetune_learning_rate: float = bounded(1e-3, 0, 10, low_open=True)
    batch_size: int = bounded(16, 1, 65536)  # sequences per step of the toy baseline's training
    finetune_batch_size: int = bounded(4, 1, 65536)  # sequences per fine-tuning (and L1) step
    grad_accum_steps: int = bounded(1, 1, 4096)
    block_size: int = bounded(128, 8, 32768)  # tokens per training window (hub models)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"  # GPU only
    method: Literal["magnitude", "wanda", "random"] = "magnitude"  # score of one-shot pruning
    pattern: str = "unstructured"  # one-shot pattern: "unstructured" or "N:M" such as "2:4"
    calibration_sequences: int = bounded(128, 1, 10**6)  # Wanda: windows of the corpus
    eval_limit: int | None = bounded(None, 1, 10**8)  # first N items of each evaluation set
    # First N items of each multiple-choice set (StoryCloze, HellaSwag), within eval_limit:
    # two and four sequences an item make them two thirds of an evaluation's time, and the
    # verdicts on QA (NQ, WebQ, TriviaQA) do not read them. None: as eval_limit.
    choice_limit: int | None = bounded(100, 1, 10**8)
    eval_batch_size: int = bounded(32, 1, 65536)
    cache_dir: str | None = None  # default: cache/ of the output folder (files.out_dir)

    def check(self) -> None:
        check_profile_name(self.profile)
        pattern_sparsity(self.pattern)
        if self.datasets not in ("toy", "hub"):
            folder = Path(self.datasets)
            missing = [t for t in TASK_NAMES if not (folder / f"{t}.jsonl").is_file()]
            if missing:
                raise ValueError(
                    f"{SECTION}.datasets={self.datasets!r} is not allowed: no {missing[0]}.jsonl "
                    "there; choose 'toy', 'hub' or an existing folder of <task>.jsonl files in "
                    "the hub schemas"
                )
        if self.corpus not in ("toy", "hub") and not Path(self.corpus).is_file():
            raise ValueError(
                f"{SECTION}.corpus={self.corpus!r} is not allowed; choose 'toy', 'hub' or an "
                "existing json, jsonl, csv or parquet file with a 'text' field"
            )


@dataclass
class StudyParameters:
    """Parameters of single notebooks (02 to 11); defaults are the tutorial's."""

    section = SECTION
    thresholds: list[float] = bounded_items([0.0, 0.02, 0.04, 0.06, 0.08, 0.1], 0)  # 02: |w|
    q_values: list[float] = bounded_items([0.25, 0.5, 0.75, 1.0], 0)  # 02: times each std
    sparsity: float = bounded(0.5, 0, 1, high_open=True)  # 03: one run per value of sparsities
    iterations: int = bounded(5, 1, 1000)  # 03: pruning rounds of the iterative run
    sensitivity_scan: bool = True  # 03: each layer alone at 0.5/0.7/0.9 (3 evals per layer)
    schedule_kinds: list[Literal["constant", "linear", "exponential", "cubic"]] = dataclasses.field(
        default_factory=lambda: ["constant", "linear", "exponential", "cubic"]
    )
    initial_sparsity: float = bounded(0.0, 0, 1, high_open=True)  # 04: at the begin step
    # 04: the cubic schedule once more, from this initial sparsity instead
    varied_initial_sparsity: float = bounded(0.25, 0, 1, high_open=True)
    target_sparsity: float = bounded(0.5, 0, 1, high_open=True)  # 04: at the end step
    schedule_end_step: int = bounded(30, 1, MAX_STEPS)  # 04: the target is reached here
    schedule_frequency: int = bounded(5, 1, MAX_STEPS)  # 04: steps between pruning events
    l1_lambdas: list[float] = bounded_items([0.0, 3e-05, 0.0001], 0)  # 05
    l1_steps: int = bounded(75, 0, MAX_STEPS)  # 05: steps of training with the penalty
    l1_sparsity: float = bounded(0.5, 0, 1, high_open=True)  # 05: magnitude pruning after L1
    high_sparsity: float = bounded(0.9, 0, 1, high_open=True)  # 04, 05: the high regime
    # 03 (once per value), 06, 07
    sparsities: list[float] = bounded_items([0.1, 0.3, 0.5, 0.7, 0.9], 0, 1, high_open=True)
    seeds: list[int] = bounded_items([0, 1, 2, 3], 0, MAX_SEED)  # 07: main sweep; 02, 04, 05
    efficiency_sparsity: float = bounded(0.5, 0, 1, high_open=True)  # 08
    # 09, 10: the equal-size study's sparsities (params/study.yaml adds 0.7) and seeds
    equal_size_sparsities: list[float] = bounded_items([0.5], 0, 1, high_open=True)
    equal_size_seeds: list[int] = bounded_items([0, 1, 2], 0, MAX_SEED)
    # 09: a dense toy model of the pruned size trained from scratch at these seeds (minutes
    # each; the tutorial trains none, params/study.yaml three)
    dense_small_seeds: list[int] = bounded_items([], 0, MAX_SEED, empty=True)
    after_sparsities: list[float] = bounded_items([0.5, 0.7], 0, 1, high_open=True)  # 11
    distill_weight: float = bounded(1.0, 0, 1000, low_open=True)  # 11: the teacher's KL term
    removed_blocks: int = bounded(1, 1, 1000)  # 11: transformer blocks removed (ShortGPT)
    # 11: models trained from scratch under a sparse mask (static, SET) and dense-small, at
    # these seeds (8 minutes a model; the tutorial trains none, params/sparse_training.yaml
    # and params/study.yaml seeds 0 to 3)
    sparse_training_seeds: list[int] = bounded_items([], 0, MAX_SEED, empty=True)
    sparse_training_sparsity: float = bounded(0.5, 0, 1, low_open=True, high_open=True)  # 11
    latency_tokens: int = bounded(128, 1, 32768)  # 08: tokens per timed forward pass
    latency_repeats: int = bounded(20, 1, 10**4)  # 08: timed passes (the median is shown)

    def check(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(
                f"{SECTION}.seeds={self.seeds!r} lists a seed twice; give each seed once"
            )
        if len(set(self.sparse_training_seeds)) != len(self.sparse_training_seeds):
            raise ValueError(
                f"{SECTION}.sparse_training_seeds={self.sparse_training_seeds!r} lists a seed "
                "twice; give each seed once"
            )
        for name in ("seeds", "equal_size_seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(
                    f"{SECTION}.{name}={values!r} is empty or lists a seed twice; give each "
                    "seed once"
                )
        extra = sorted(set(self.dense_small_seeds) - set(self.equal_size_seeds))
        if extra:
            raise ValueError(
                f"{SECTION}.dense_small_seeds={self.dense_small_seeds!r} has seeds {extra} not in "
                f"equal_size_seeds={self.equal_size_seeds!r}; allowed: a subset of them"
            )
        if not self.equal_size_sparsities:
            raise ValueError(f"{SECTION}.equal_size_sparsities=[] is empty; give at least one")
        if not self.schedule_kinds:
            raise ValueError(f"{SECTION}.schedule_kinds=[] is empty; give at least one kind")
        if self.varied_initial_sparsity > self.target_sparsity:
            raise ValueError(
                f"{SECTION}.varied_initial_sparsity={self.varied_initial_sparsity} is above "
                f"target_sparsity={self.target_sparsity}; allowed: [0, {self.target_sparsity}]"
            )
        if self.initial_sparsity > self.target_sparsity:
            raise ValueError(
                f"{SECTION}.initial_sparsity={self.initial_sparsity} is above target_sparsity="
                f"{self.target_sparsity}; allowed: [0, {self.target_sparsity}]"
            )


def pattern_sparsity(pattern: str) -> float | None:
    """The sparsity an ``N:M`` pattern implies (None for ``unstructured``); a ValueError
    names the parameter and what is allowed.

    Example:
        >>> pattern_sparsity("2:4"), pattern_sparsity("unstructured")
        (0.5, None)
    """
    try:
        nm = parse_pattern(pattern)
    except ValueError as error:
        raise ValueError(f"{SECTION}.{error}") from None
    return None if nm is None else nm.sparsity


SHARED = tuple(f.name for f in dataclasses.fields(Settings))
STUDY = tuple(f.name for f in dataclasses.fields(StudyParameters))
# Keys a profile may set that no notebook reads: the runner's own (``pruning-lib
# reproduce``): which notebooks, and the sparsities 03_rate runs at (one execution each;
# default: every value of `sparsities`).
RUNNER_KEYS = frozenset({"notebooks", "rate_sparsities"})


def check_profile_name(name: str) -> str:
    """A profile names a folder under ``runs/``: a plain name, no path."""
    if not isinstance(name, str) or not PROFILE_NAME.match(name) or name in (".", ".."):
        raise ValueError(
            f"{SECTION}.profile={name!r} is not allowed; a profile is a plain name of letters, "
            "digits, '_', '-' and '.' (it names the folder runs/<profile>/)"
        )
    return name


def defaults() -> dict[str, Any]:
    """Every parameter's default (the tutorial profile)."""
    values: dict[str, Any] = {}
    for cls in (Settings, StudyParameters):
        for f in dataclasses.fields(cls):
            has_default = f.default is not dataclasses.MISSING
            values[f.name] = f.default if has_default else f.default_factory()
    return values


def check_parameters(values: dict[str, Any]) -> tuple[Settings, StudyParameters]:
    """Check a whole set of parameters (a profile, or a notebook's globals filtered to
    parameter names) before any work: unknown keys, types, ranges and relations."""
    unknown = sorted(set(values) - set(SHARED) - set(STUDY))
    if unknown:
        raise ValueError(
            f"{SECTION}: unknown key {unknown[0]!r}; allowed keys: "
            f"{', '.join(sorted(SHARED + STUDY))}"
        )
    pattern = values.get("pattern")
    if isinstance(pattern, int) and not isinstance(pattern, bool) and pattern % 60:
        # YAML 1.1 reads an unquoted 2:4 as a number in base 60: 2 * 60 + 4 = 124.
        n, m = divmod(pattern, 60)
        raise ValueError(
            f"{SECTION}.pattern={pattern} is a number: YAML reads an unquoted {n}:{m} as "
            f"{pattern} (base 60); quote it: pattern: '{n}:{m}'"
        )
    settings = from_dict(Settings, {k: v for k, v in values.items() if k in SHARED})
    study = from_dict(StudyParameters, {k: v for k, v in values.items() if k in STUDY})
    implied = pattern_sparsity(settings.pattern)
    if implied is not None and "sparsities" in values:
        wrong = [s for s in study.sparsities if abs(s - implied) > 1e-9]
        if wrong:
            raise ValueError(
                f"{SECTION}.sparsities={study.sparsities} does not fit pattern="
                f"{settings.pattern!r}, which prunes exactly {implied:g}; allowed: [{implied:g}]"
            )
    return settings, study


def parameters_in(namespace: dict[str, Any]) -> dict[str, Any]:
    """The parameters among a notebook's globals (every other name is ignored)."""
    return {k: namespace[k] for k in (*SHARED, *STUDY) if k in namespace}
