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

Random is not fine-tuned here (notebook 03 fine-tunes it at one seed). The runs are
``plans.equal_size``; 09 and 10 compute the same study and show different parts of it. Here
are its records, table rows and paired comparisons.
"""

from __future__ import annotations

from typing import Any

from ..efficiency import parameter_counts
from ..evaluation.tasks import TASK_NAMES
from .kinds import nonzero
from .records import QA_TASKS, make_records, mean_record
from .uncertainty import Verdicts, beyond, interval_text, paired, verdict

SMALL_VARIANTS = (
    ("dense", 0.0),
    ("control", 0.0),
    ("magnitude unstructured fine-tuned", 0.5),
    ("dense-small", 0.5),
)


def collect(experiment, sweeps: dict[int, dict[tuple[str, float | None], Any]]) -> dict[str, Any]:
    """The study's records (see ``records.make_records``) and the size of each variant's
    model, from its results (``compute(experiment, plans.equal_size(...))``: by seed, then
    (variant, sparsity)). A structured fraction that is not matched to a sparsity is keyed
    by the share of the prunable weights it removes. Dense-small runs only at its own seeds
    (training it takes minutes), so its records, and those it is compared with, are over
    those seeds alone (where it runs at every seed, as in notebook 11, they are the
    study's)."""
    seeds = list(sweeps)
    by_seed = []
    for sweep in sweeps.values():
        by_seed.append(
            {
                (variant, round(run["sparsity"], 2) if sparsity is None else sparsity): run
                for (variant, sparsity), run in sweep.items()
            }
        )
    small = [
        seed
        for seed, sweep in zip(seeds, by_seed)
        if any(variant == "dense-small" for variant, _ in sweep)
    ]
    n_items = {task: len(sets) for task, sets in experiment.eval_sets().items()}
    small_sweeps = []
    if small and len(small) < len(seeds):  # dense-small's own seeds: records of their own
        small_sweeps = [
            {key: sweep[key] for key in SMALL_VARIANTS}
            for sweep in by_seed
            if ("dense-small", 0.5) in sweep
        ]
        for sweep in by_seed:
            sweep.pop(("dense-small", 0.5), None)
    records = make_records(by_seed, n_items)
    total = parameter_counts(experiment.baseline()[0])["total"]
    sizes = {}
    for (variant, sparsity), run in by_seed[0].items():
        if "report" in run:
            sizes[(variant, sparsity)] = nonzero(experiment, run)
        else:
            sizes[(variant, sparsity)] = run.get("parameters") or total
    if small_sweeps:
        sizes[("dense-small", 0.5)] = small_sweeps[0][("dense-small", 0.5)]["parameters"]
    return {
        "records": records,
        # dense-small at every seed (notebook 11's sparse training) shares the records
        "small_records": make_records(small_sweeps, n_items) if small_sweeps else records,
        "small_seeds": small,
        "sizes": sizes,
        "seeds": seeds,
        "runs": by_seed,
    }


def _records(study: dict[str, Any], *variants: str) -> list[dict[str, Any]]:
    """The records that hold ``variants`` at the same seeds (dense-small's own seeds)."""
    return study["small_records"] if "dense-small" in variants else study["records"]


def mean_of(study: dict[str, Any], variant: str, sparsity: float, tasks=QA_TASKS) -> dict:
    """The record of ``variant``'s mean score over ``tasks`` (see ``records.mean_record``)."""
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
                "mean QA": interval_text(qa),
                "mean of six": interval_text(every),
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
    where = f" at {a[1]:g}" if a[1] == b[1] else ""
    what = f"{a[0]} − {b[0]}{where} (mean {'QA' if tasks == QA_TASKS else 'score'})"
    if records is study["small_records"] and study["small_seeds"] != study["seeds"]:
        what += f", seeds {study['small_seeds']}"
    seeds = len(first["values"])
    sentence = verdict(what, value, noise, seeds, base=second["mean"])
    if beyond(value, noise, seeds):
        sentence += f": {a[0] if value > 0 else b[0]} scores higher"
    return value, noise, sentence


def reference(variant: str) -> tuple[str, float]:
    """What a variant's quality is measured against: a fine-tuned variant against the dense
    model fine-tuned as long (the control), so that more training is not mistaken for
    recovery; any other against the dense model."""
    return ("control", 0.0) if variant.endswith("fine-tuned") else ("dense", 0.0)


def judge(study: dict[str, Any], comparisons) -> dict[tuple, tuple[float, float]]:
    """Print a verdict for each ``(first, second)`` of ``comparisons`` (first minus second
    in mean QA, paired by seed and item), then the family's note (how many would pass by
    chance, and Holm's correction over these); returns {(first, second): (value, 95%
    half-width)}."""
    verdicts, judged = Verdicts(), {}
    for first, second in comparisons:
        value, noise, _ = compare(study, first, second)
        judged[(first, second)] = (value, noise)
        where = f" at {first[1]:g}" if first[1] == second[1] else f" ({first[1]:g})"
        base = mean_of(study, *second)["mean"]
        what = f"{first[0]} − {second[0]}{where} (mean QA)"
        print("-", verdicts(what, value, noise, len(study["seeds"]), base=base))
    print("-", verdicts.note())
    return judged
