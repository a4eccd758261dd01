"""Records, mean records, falls and retentions (study/records.py) against hand computations
and scipy's t distribution: what the tables, the figures and every printed verdict read."""

import math
import statistics

import pytest
from scipy import stats

from pruning_lib.study.records import (
    COMPLETION_TASKS,
    QA_TASKS,
    find,
    make_records,
    mean_fall,
    mean_record,
    retention,
)
from pruning_lib.study.uncertainty import CORRECT, item_term, paired, summarize

TASKS = COMPLETION_TASKS + QA_TASKS
ITEMS = dict.fromkeys(TASKS, 100)


def _scores(level: float, outcomes: str | None = None) -> dict:
    """Every task at ``level``; "chance" first, as a task may list it anywhere."""
    scores = {}
    for task in TASKS:
        metric = "exact_match" if task in QA_TASKS else "acc"
        scores[task] = {"chance": 0.1, metric: level}
        if outcomes is not None:
            scores[task][CORRECT] = outcomes
    scores["lambada"]["ppl"] = 8.0
    return scores


def _records(levels: dict[tuple[str, float], list[float]], outcomes=None) -> list[dict]:
    """Records of runs at several seeds: ``{(variant, sparsity): [level per seed]}``."""
    seeds = len(next(iter(levels.values())))
    sweeps = [
        {key: {"scores": _scores(values[s], outcomes)} for key, values in levels.items()}
        for s in range(seeds)
    ]
    return make_records(sweeps, ITEMS)


def test_every_metric_listed_after_chance_is_a_record_with_its_item_term():
    records = _records({("dense", 0.0): [0.6, 0.7]}, outcomes="1" * 60 + "0" * 40)
    assert sorted((r["task"], r["metric"]) for r in records) == sorted(
        [(t, "acc") for t in COMPLETION_TASKS]
        + [(t, "exact_match") for t in QA_TASKS]
        + [("lambada", "ppl")]
    )
    lambada = find(records, "dense", 0.0, "lambada", "acc")
    # the interval holds the items' term of 100 items, not the seeds' alone
    assert lambada["ci_low"] == summarize([0.6, 0.7], 100)["ci_low"]
    assert lambada["ci_low"] < summarize([0.6, 0.7])["ci_low"]
    # each task's main metric (acc for completion, exact match for QA) keeps the outcomes
    assert lambada[CORRECT] == ["1" * 60 + "0" * 40] * 2
    assert CORRECT in find(records, "dense", 0.0, "nq_open", "exact_match")
    assert CORRECT not in find(records, "dense", 0.0, "lambada", "ppl")


def test_a_missing_record_is_named():
    with pytest.raises(KeyError) as error:
        find([], "dense", 0.5, "nq_open", "exact_match")
    assert error.value.args == ("no record for dense at 0.5, nq_open exact_match",)


def test_a_mean_record_of_completion_tasks_by_hand():
    records = _records({("dense", 0.0): [0.6, 0.8]})
    mean = mean_record(records, "dense", 0.0, COMPLETION_TASKS)
    assert mean["values"] == pytest.approx([0.6, 0.8])
    seeds = stats.t.ppf(0.975, 1) * stats.sem([0.6, 0.8])
    items = math.sqrt(3 * item_term(0.7, 100) ** 2) / 3
    width = math.hypot(seeds, items)
    assert mean["item_half"] == pytest.approx(items)
    assert mean["ci_low"] == pytest.approx(0.7 - width, rel=1e-3)
    assert mean["ci_high"] == pytest.approx(0.7 + width, rel=1e-3)
    # tasks measured at different numbers of seeds cannot be averaged seed by seed
    uneven = [dict(r) for r in records]
    find(uneven, "dense", 0.0, "hellaswag", "acc")["values"] = [0.6, 0.8, 0.7]
    with pytest.raises(ValueError):
        mean_record(uneven, "dense", 0.0, COMPLETION_TASKS)


def test_the_mean_fall_is_the_base_at_zero_minus_the_variant_paired_by_seed():
    levels = {("dense", 0.0): [0.7, 0.5], ("one-shot", 0.5): [0.5, 0.4], ("dense", 0.5): [0.0, 0]}
    records = _records(levels)
    value, noise = mean_fall(records, "dense", "one-shot", 0.5, QA_TASKS)
    deltas = [0.2, 0.1]  # the same fall on every QA task
    assert value == pytest.approx(statistics.mean(deltas))
    seeds = stats.t.ppf(0.975, 1) * stats.sem(deltas)
    dense_items = math.sqrt(3 * item_term(0.6, 100) ** 2) / 3
    pruned_items = math.sqrt(3 * item_term(0.45, 100) ** 2) / 3
    assert noise == pytest.approx(math.hypot(seeds, dense_items, pruned_items), rel=1e-3)
    # the base is read at sparsity 0, whatever sparsity the variant has
    assert (value, noise) == paired(
        mean_record(records, "dense", 0.0, QA_TASKS),
        mean_record(records, "one-shot", 0.5, QA_TASKS),
    )


def _pair(base: list[float], pruned: list[float], task: str = "lambada") -> list[dict]:
    metric = "exact_match" if task in QA_TASKS else "acc"
    common = {"task": task, "metric": metric, "n_items": 100}
    return [
        {**common, "variant": "dense", "sparsity": 0.0, **summarize(base, 100)},
        {**common, "variant": "one-shot", "sparsity": 0.5, **summarize(pruned, 100)},
    ]


def test_retention_at_two_seeds_adds_the_t_term_of_the_ratios():
    records = _pair([0.8, 0.5], [0.6, 0.45])
    centre, half_width = retention(records, "one-shot", 0.5, "lambada", "dense")
    ratios = [0.6 / 0.8, 0.45 / 0.5]
    assert centre == pytest.approx(statistics.mean(ratios))
    seeds = stats.t.ppf(0.975, 1) * stats.sem(ratios)
    relative = math.hypot(item_term(0.525, 100) / 0.525, item_term(0.65, 100) / 0.65)
    assert half_width == pytest.approx(math.hypot(seeds, centre * relative), rel=1e-3)


def test_retention_at_one_seed_is_the_items_term_alone():
    records = _pair([0.8], [0.6], task="nq_open")
    centre, half_width = retention(records, "one-shot", 0.5, "nq_open", "dense")
    relative = math.hypot(item_term(0.6, 100) / 0.6, item_term(0.8, 100) / 0.8)
    assert centre == pytest.approx(0.75) and half_width == pytest.approx(0.75 * relative)


def test_retention_pairs_items_only_where_both_records_hold_them():
    records = _pair([0.8], [0.6])
    records[0][CORRECT] = ["1" * 80 + "0" * 20]  # the base only: no pairing possible
    _, half_width = retention(records, "one-shot", 0.5, "lambada", "dense")
    relative = math.hypot(item_term(0.6, 100) / 0.6, item_term(0.8, 100) / 0.8)
    assert half_width == pytest.approx(0.75 * relative)


def test_retention_over_a_base_that_scored_zero_at_a_seed_is_undefined():
    centre, half_width = retention(
        _pair([0.8, 0.0], [0.6, 0.0]), "one-shot", 0.5, "lambada", "dense"
    )
    assert math.isnan(centre) and math.isnan(half_width)


def test_retention_of_records_at_different_seeds_is_refused():
    with pytest.raises(ValueError):
        retention(_pair([0.8, 0.7], [0.6]), "one-shot", 0.5, "lambada", "dense")
