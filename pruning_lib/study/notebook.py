"""Small helpers that keep the notebooks short: start-up, the runs, rounded tables.

``start(globals())`` builds the notebook's :class:`Experiment`; ``compute(experiment,
plan)`` gives the results of a plan's runs (:mod:`~pruning_lib.study.plans`).

Example:
    >>> print(format_table([{"task": "NQ", "score": 0.61234}], ["task", "score"]))
    task  score
    ----  -----
    NQ    0.612
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..evaluation.evaluate import main_metric
from ..evaluation.tasks import DISPLAY_NAMES, TASK_NAMES
from .configs import load_profile
from .experiment import Experiment
from .files import repo_root
from .parameters import RUNNER_KEYS, check_parameters, defaults, parameters_in
from .plans import preflight
from .pool import compute
from .runtime import check_cpu_kernels, describe_environment, seed_everything
from .tables import format_table
from .uncertainty import CORRECT

__all__ = ["compute", "format_table", "mean_qa", "mean_score", "paired_qa",
           "show_comparison", "show_scores", "start"]  # fmt: skip


def profile_values(profile: str) -> dict[str, Any]:
    """Every parameter's value in ``profile``: the defaults (the tutorial profile), under
    ``params/<profile>.yaml`` of the checkout where there is one (less the runner's own
    keys, which no notebook reads)."""
    values = defaults()
    root = repo_root()
    path = root / "params" / f"{profile}.yaml" if root is not None else None
    if path is not None and profile != "tutorial" and path.is_file():
        loaded = load_profile(path)
        values.update({key: value for key, value in loaded.items() if key not in RUNNER_KEYS})
    return values


def start(namespace: dict[str, Any], progress: bool = True) -> Experiment:
    """Settle the notebook's parameters, seed, quiet the libraries' chatter and build the
    :class:`Experiment`. Prints where we run (an unchecked cell: it names the machine).

    The parameters are the profile's (``profile_values``) under the notebook's own, and
    under whatever papermill injected (``reproduce`` injects every shared setting), all
    checked by the one schema (``parameters.check_parameters``).
    """
    values = profile_values(namespace.get("profile", "tutorial"))
    values.update(parameters_in(namespace))
    settings, _ = check_parameters(values)
    preflight(settings)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.getLogger("accelerate").setLevel(logging.ERROR)
    seed_everything(settings.seed)
    experiment = Experiment(settings, progress=progress)
    print(describe_environment())
    if experiment.device.type == "cpu":
        check_cpu_kernels()
    from . import shipped
    from .plans import dense

    if dense(settings).key(settings) in shipped.shipped():
        # The tutorial's settings: every run they give is shipped (pool.fill reads the
        # ones the cache lacks, and says how many).
        print(
            "the tutorial profile's runs ship with pruning-lib: those not cached here are read "
            "from there, not computed (other parameters compute theirs)"
        )
    return experiment


def ordered(scores: dict[str, Any]) -> list[str]:
    """The tasks of ``scores`` in the paper's order, whatever order the dict has (a result
    read back from the JSON cache and a freshly computed one print the same)."""
    return [task for task in TASK_NAMES if task in scores]


def score_rows(scores: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One row per task: main metric, the others, and chance."""
    rows = []
    for task in ordered(scores):
        metrics = scores[task]
        name = main_metric(task)
        extra = ", ".join(
            f"{k} {v:.3f}" for k, v in metrics.items() if k not in (name, "chance", CORRECT)
        )
        rows.append(
            {
                "task": DISPLAY_NAMES[task],
                "metric": name,
                "score": metrics[name],
                "chance": metrics["chance"],
                "also": extra,
            }
        )
    return rows


def show_scores(scores: dict[str, dict[str, float]]) -> None:
    print(format_table(score_rows(scores), ["task", "metric", "score", "chance", "also"]))


def compare_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per experiment: sparsity and the main metric of every task."""
    rows = []
    for label, result in results.items():
        row: dict[str, Any] = {"run": label, "sparsity": result.get("sparsity", 0.0)}
        for task in ordered(result["scores"]):
            row[DISPLAY_NAMES[task]] = result["scores"][task][main_metric(task)]
        rows.append(row)
    return rows


def show_comparison(results: dict[str, dict[str, Any]]) -> None:
    rows = compare_rows(results)
    first = next(iter(results.values()))["scores"]
    columns = ["run", "sparsity", *[DISPLAY_NAMES[t] for t in ordered(first)]]
    print(format_table(rows, columns))


def mean_qa(scores: dict[str, dict[str, float]]) -> float:
    return sum(scores[t]["exact_match"] for t in ("nq_open", "web_questions", "trivia_qa")) / 3


def mean_score(scores: dict[str, dict[str, float]], items: int | None = None) -> float:
    """The mean of the six tasks' main metrics; ``items``: over the first that many items of
    each set only (from the scores' item-by-item outcomes), as a scan run is scored."""
    tasks = ordered(scores)
    if items is None:
        return sum(scores[t][main_metric(t)] for t in tasks) / len(tasks)
    firsts = [scores[t][CORRECT][:items] for t in tasks]
    return sum(first.count("1") / len(first) for first in firsts) / len(tasks)


QA = ("nq_open", "web_questions", "trivia_qa")


def paired_qa(a, b, tasks=QA) -> tuple[float, float, int]:
    """Mean score of ``tasks`` under ``a`` minus under ``b``, paired seed by seed and item by
    item: (difference, 95% half-width, seeds) for :func:`~.uncertainty.verdict`.

    ``a`` and ``b`` are one run's scores, or a list of them, one per seed in the same seed
    order. With one seed the half-width is the items' alone (see ``verdict``).
    """
    from .uncertainty import paired

    def record(runs):
        runs = [runs] if isinstance(runs, dict) else list(runs)
        values = [sum(s[t][main_metric(t)] for t in tasks) / len(tasks) for s in runs]
        return {
            "values": values,
            "parts": [{CORRECT: [s[t][CORRECT] for s in runs]} for t in tasks],
        }

    first, second = record(a), record(b)
    if len(first["values"]) != len(second["values"]):
        raise ValueError("paired_qa needs as many runs (seeds) on each side")
    value, noise = paired(first, second)
    return value, noise, len(first["values"])
