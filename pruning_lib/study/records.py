"""Records: one per (variant, sparsity, task, metric) of a study run at several seeds, and the
paired comparisons read off them.

A record holds ``values`` (one per seed, in seed order), their ``mean``, a 95% interval
(``ci_low``, ``ci_high``: :mod:`~pruning_lib.study.uncertainty`), ``n_items``, and for the
main metric ``correct`` (one string of item outcomes per seed). A perplexity lives on a ratio
scale (one seed's collapse would swamp an arithmetic mean): its ``mean`` and interval are
the geometric mean and the t interval of the logs, carried back (``sd`` is that of the
logs). ``results.json`` holds them
under ``records``; the tables, the figures, the checks and ``pruning-lib compare`` read them.

Example:
    >>> scores = lambda acc: {t: {"acc": acc, "exact_match": acc, "chance": 0.1}
    ...                       for t in TASK_NAMES}
    >>> sweeps = [{("dense", 0.0): {"scores": scores(0.6)}},
    ...           {("dense", 0.0): {"scores": scores(0.7)}}]
    >>> record = find(make_records(sweeps, {t: 100 for t in TASK_NAMES}),
    ...               "dense", 0.0, "nq_open", "exact_match")
    >>> record["values"], round(record["mean"], 2)
    ([0.6, 0.7], 0.65)
"""

from __future__ import annotations

import math
from typing import Any

from ..evaluation.evaluate import main_metric
from ..evaluation.tasks import CORRECT, TASK_NAMES
from .uncertainty import (
    half,
    mean_item_term,
    paired,
    ratio_item_term,
    summarize,
    t95,
)

QA_TASKS = ("nq_open", "web_questions", "trivia_qa")
COMPLETION_TASKS = ("lambada", "story_cloze", "hellaswag")


def make_records(sweeps: list[dict], n_items: dict[str, int]) -> list[dict[str, Any]]:
    """One record per (variant, sparsity, task, metric) over the seeds' sweeps."""
    records = []
    for variant, sparsity in sweeps[0]:
        scores = [sweep[(variant, sparsity)]["scores"] for sweep in sweeps]
        for task in TASK_NAMES:
            for metric in scores[0][task]:
                if metric in ("chance", CORRECT):
                    continue
                items = None if metric == "ppl" else n_items[task]  # ppl is not a fraction
                record = {"variant": variant, "sparsity": sparsity, "task": task}
                record["metric"] = metric
                values = [s[task][metric] for s in scores]
                if metric == "ppl":  # a ratio scale: the geometric mean, interval from the logs
                    logs = summarize([math.log(v) for v in values])
                    ends = {k: math.exp(logs[k]) for k in ("mean", "ci_low", "ci_high")}
                    record.update({**logs, **ends, "values": values})
                else:
                    record.update(summarize(values, items))
                record["n_items"] = items
                if metric == main_metric(task) and all(CORRECT in s[task] for s in scores):
                    record[CORRECT] = [s[task][CORRECT] for s in scores]  # one string a seed
                records.append(record)
    return records


def find(records: list[dict], variant: str, sparsity: float, task: str, metric: str) -> dict:
    for r in records:
        if (r["variant"], r["sparsity"], r["task"], r["metric"]) == (
            variant,
            sparsity,
            task,
            metric,
        ):
            return r
    raise KeyError(f"no record for {variant} at {sparsity}, {task} {metric}")


def mean_record(records: list[dict], variant: str, sparsity: float, tasks) -> dict[str, Any]:
    """The mean main score of ``tasks`` as one record: its per-seed values, and an item term
    from each task's (independent sets: the root of the sum of squares over the count)."""
    parts = [find(records, variant, sparsity, t, main_metric(t)) for t in tasks]
    per_seed = zip(*(p["values"] for p in parts), strict=True)
    values = [sum(scores) / len(parts) for scores in per_seed]
    seeds = summarize(values)
    items = mean_item_term([(p["mean"], p["n_items"]) for p in parts])
    width = math.hypot(half(seeds), items)
    return {
        **seeds,
        "ci_low": seeds["mean"] - width,
        "ci_high": seeds["mean"] + width,
        "item_half": items,
        "parts": parts,  # so that a paired difference can pair item by item, task by task
    }


def mean_fall(records: list[dict], base: str, variant: str, sparsity: float, tasks):
    """The mean main score of ``tasks`` under ``base`` (at sparsity 0) minus under
    ``variant`` at ``sparsity``, paired by seed: (value, 95% half-width)."""
    return paired(
        mean_record(records, base, 0.0, tasks), mean_record(records, variant, sparsity, tasks)
    )


def retention(records: list[dict], variant: str, sparsity: float, task: str, base: str):
    """Score / base score seed by seed: the mean ratio and its 95% half-width (the t
    interval over seeds, and the items' term of the ratio: item by item where both records
    hold their outcomes, ``uncertainty.ratio_item_term``, else both runs' terms carried
    through the ratio as if independent)."""
    metric = main_metric(task)
    a = find(records, variant, sparsity, task, metric)
    b = find(records, base, 0.0, task, metric)
    if min(b["values"]) <= 0:
        return float("nan"), float("nan")
    ratios = [x / y for x, y in zip(a["values"], b["values"], strict=True)]
    k = len(ratios)
    centre = sum(ratios) / k
    seeds = t95(k - 1) * summarize(ratios)["sd"] / math.sqrt(k) if k > 1 else 0.0
    if CORRECT in a and CORRECT in b:
        items = ratio_item_term(a[CORRECT], b[CORRECT])
    else:
        relative = math.hypot(a["item_half"] / max(a["mean"], 1e-12), b["item_half"] / b["mean"])
        items = centre * relative
    return centre, math.hypot(seeds, items)
