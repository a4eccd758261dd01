"""Verdicts at the seeds the study has: the plans that run the decisive comparisons of
notebooks 02, 04 and 05 at every seed, the run kinds they add, the paired mean-QA difference
every notebook verdict is made from, and the runs shipped for a notebook opened alone."""

import json
import math
from statistics import mean, stdev

import pytest
import torch

from pruning_lib.prune import Pruner
from pruning_lib.study import plans, shipped
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.notebook import paired_qa
from pruning_lib.study.uncertainty import CORRECT, t95
from tests.conftest import smoke_settings


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return Experiment(smoke_settings(tmp_path_factory.mktemp("cache")), progress=False)


def test_the_decisive_comparisons_run_at_every_seed_and_share_the_profile_seed(tmp_path):
    settings = smoke_settings(tmp_path)
    seeds = [0, 1, 2]
    found = plans.thresholds(settings, [0.0, 0.1], [0.5], seeds)
    assert sorted(found["seeds"]) == seeds
    assert [r.seed for r in (p["q"] for p in found["seeds"].values())] == seeds
    assert found["seeds"][0]["q"] == found["relative"][0.5]  # one run, not two
    assert found["seeds"][1]["threshold"].kwargs["match_q"] == plans.COMPARED_Q
    # Without match_q a threshold run keeps the key it always had (the cache stays valid).
    assert "match_q" not in plans.threshold(settings, threshold=0.1).kwargs

    made = plans.schedules(settings, ["constant", "cubic"], 0.0, 0.5, 6, 2, 0.9, seeds, 0.25)
    assert made["seeds"][0] == made["high"]
    assert {r.seed for pair in made["seeds"].values() for r in pair.values()} == set(seeds)
    varied = made["varied_initial"].kwargs
    assert (varied["schedule"], varied["initial_sparsity"], varied["target_sparsity"]) == (
        "cubic", 0.25, 0.5,
    )  # fmt: skip

    sweep = plans.l1_sweep(settings, [0.0, 1e-4], 3, 0.5, 0.9, seeds)
    assert sweep["seeds"][0]["sweep"] == sweep["sweep"]  # the profile's seed: fine-tuned
    assert sweep["seeds"][0]["high"] == sweep["high"]
    others = [r for s in (1, 2) for r in plans.runs_in(sweep["seeds"][s])]
    assert others and all(r.kwargs["steps"] == 0 for r in others)  # up to pruning only
    assert all(r.kwargs["steps"] == settings.finetune_steps for r in plans.runs_in(sweep["sweep"]))


def test_varied_initial_sparsity_above_the_target_is_refused():
    from pruning_lib.study.parameters import check_parameters

    with pytest.raises(ValueError, match=r"varied_initial_sparsity=0.6 is above target_sparsity"):
        check_parameters({"varied_initial_sparsity": 0.6})


def test_a_matched_threshold_prunes_as_many_weights_as_q_times_std(experiment):
    q_run = experiment.result(plans.threshold(experiment.settings, q=0.5))
    matched = experiment.result(plans.threshold(experiment.settings, match_q=0.5))
    # By hand: the one cut-off over all prunable |w| at the q-rule's count.
    every = torch.cat(
        [w.detach().abs().flatten() for w in Pruner(experiment.fresh_model()).weights.values()]
    )
    count = round(q_run["sparsity"] * every.numel())
    cut = every.kthvalue(count).values
    assert matched["sparsity"] == pytest.approx(float((every < cut).sum()) / every.numel())
    assert abs(matched["sparsity"] - q_run["sparsity"]) <= 1 / every.numel() + 1e-12
    # One threshold for every layer: the layers' sparsities differ from the q rule's.
    assert [r["sparsity"] for r in matched["layers"]] != [r["sparsity"] for r in q_run["layers"]]


def test_an_l1_run_without_fine_tuning_scores_right_after_pruning(experiment):
    run = plans.l1(experiment.settings, 1e-4, 0.5, 2, seed=1, finetune=False)
    result = experiment.result(run)
    assert run.kwargs["steps"] == 0 and run.seed == 1
    assert result["scores"] == result["scores_pruned"]
    assert result["sparsity"] == pytest.approx(0.5, abs=1e-3)


def _scores(qa_bits: dict[str, str]) -> dict:
    return {
        task: {"exact_match": bits.count("1") / len(bits), CORRECT: bits}
        for task, bits in qa_bits.items()
    }


def test_paired_qa_by_hand_at_one_and_at_two_seeds():
    a = _scores({"nq_open": "1100", "web_questions": "1010", "trivia_qa": "1111"})
    b = _scores({"nq_open": "1000", "web_questions": "1010", "trivia_qa": "0111"})
    value, noise, seeds = paired_qa(a, b)
    assert seeds == 1 and value == pytest.approx((0.25 + 0.0 + 0.25) / 3)
    # Items, task by task: each task's per-item differences, 1.96 sd / sqrt(n) with the
    # two pseudo-items of uncertainty.paired_item_term; root of the sum of squares / 3.
    from pruning_lib.study.uncertainty import paired_item_term

    terms = [paired_item_term([a[t][CORRECT]], [b[t][CORRECT]]) for t in a]
    assert noise == pytest.approx(math.sqrt(sum(x * x for x in terms)) / 3)
    c = _scores({"nq_open": "1111", "web_questions": "1110", "trivia_qa": "1111"})
    d = _scores({"nq_open": "0111", "web_questions": "1110", "trivia_qa": "1110"})
    value, noise, seeds = paired_qa([a, c], [b, d])
    deltas = [(0.25 + 0.25) / 3, (0.25 + 0.25) / 3]
    assert seeds == 2 and value == pytest.approx(mean(deltas))

    def items(first, second):  # task by task over both seeds, root of the sum of squares / 3
        terms = [paired_item_term([x[t][CORRECT] for x in first], [y[t][CORRECT] for y in second])
                 for t in first[0]]  # fmt: skip
        return math.sqrt(sum(x * x for x in terms)) / 3

    # Equal deltas: the seed term is zero, the items' term is all that remains.
    assert noise == pytest.approx(items([a, c], [b, d]))
    deltas = [0.5 / 3, 0.25 / 3]
    e = _scores({"nq_open": "1111", "web_questions": "1110", "trivia_qa": "1111"})
    f = _scores({"nq_open": "1111", "web_questions": "1110", "trivia_qa": "1110"})
    value, noise, _ = paired_qa([a, e], [b, f])
    assert value == pytest.approx(mean([0.5 / 3, 0.25 / 3]))
    seed_term = t95(1) * stdev(deltas) / math.sqrt(2)
    # The seeds' t interval and the items' term, added in quadrature.
    assert noise == pytest.approx(math.hypot(seed_term, items([a, e], [b, f])))
    with pytest.raises(ValueError, match="as many runs"):
        paired_qa([a, c], [b])


def test_shipped_runs_are_restored_checked_and_refreshed(experiment, tmp_path):
    runs = [plans.dense(experiment.settings), plans.oneshot(experiment.settings, 0.5)]
    for run in runs:
        experiment.result(run)
    bundle = tmp_path / "bundle.json"
    shipped.write(experiment, runs, bundle)
    text = bundle.read_text()
    assert text.count("\n") == len(runs) + 2  # one run per line, between braces
    stored = json.loads(text)
    assert set(stored) == {run.key(experiment.settings) for run in runs}
    shipped.check(experiment, runs, bundle)  # the same: passes
    # A fresh cache gets the shipped results, byte for byte what computing writes.
    fresh = Experiment(smoke_settings(tmp_path / "fresh"), progress=False)
    assert shipped.restore(fresh, runs, bundle) == 2
    for run in runs:
        assert fresh.path(run).read_bytes() == experiment.path(run).read_bytes()
    assert shipped.restore(fresh, runs, bundle) == 0  # cached: nothing copied
    # A computed run that differs from the shipped one stops with how to refresh them.
    changed = json.loads(fresh.path(runs[1]).read_text())
    changed["sparsity"] += 1e-6
    fresh.path(runs[1]).write_text(json.dumps(changed))
    with pytest.raises(ValueError, match=r"1 differ .*make ship-runs"):
        shipped.check(fresh, runs, bundle)
    # Another profile's runs are not shipped and not asked for; a tutorial run that is
    # not shipped is stale.
    other = plans.oneshot(experiment.settings, 0.3)
    experiment.result(other)
    shipped.check(experiment, runs + [other], bundle)
    tutorial = Experiment(smoke_settings(tmp_path / "tut", profile="tutorial"), progress=False)
    for run in runs + [other]:
        tutorial.result(run)
    shipped.check(tutorial, runs, bundle)  # the profile's name is not in a key: shipped
    with pytest.raises(ValueError, match=r"0 differ .* and 1 are not shipped"):
        shipped.check(tutorial, runs + [other], bundle)


def test_the_committed_bundle_holds_every_tutorial_run_and_is_small():
    from pruning_lib.study import reproduce
    from pruning_lib.study.parameters import Settings

    _, jobs, _ = reproduce.plan(reproduce.root_dir() / "params" / "tutorial.yaml")
    keys = {run.key(Settings()) for job in jobs for run in reproduce.job_runs(job)}
    assert keys == set(shipped.shipped())
    assert shipped.SHIPPED.stat().st_size < 4 * 2**20  # a few MB at most


def test_table_cells_show_intervals_inside_what_a_score_can_be():
    from pruning_lib.study.results import display_rows

    row = {"model": "ours", "NQ": 77.8, "NQ ±": 32.5, "NQ interval": [45.3, 100.0]}
    row.update({"LAMBADA (ppl)": 4.1, "LAMBADA (ppl) ±": 18.4})
    row["LAMBADA (ppl) interval"] = [1.0, 22.5]
    shown = display_rows([row], ["NQ", "LAMBADA (ppl)"])[0]
    assert shown["NQ"] == "77.8 [45.3, 100.0]" and shown["LAMBADA (ppl)"] == "4.1 [1.0, 22.5]"
    assert display_rows([{"NQ": 5.0, "NQ ±": 1.0}], ["NQ"])[0]["NQ"] == "5.0 ± 1.0"


def test_the_results_tables_keep_every_interval_inside_its_range():
    results = json.loads((shipped.SHIPPED.parent / "tutorial_results.json").read_text())
    for table in ("table_3", "table_4"):
        for row in results[table]:
            for key, value in row.items():
                if key.endswith(" interval"):
                    low, high = value
                    assert low <= row[key[: -len(" interval")]] <= high, (key, row)
                    assert low >= (1.0 if "ppl" in key else 0.0)
                    assert "ppl" in key or high <= 100.0


def _sweeps(shift: dict) -> list[dict]:
    """Four seeds of a main sweep whose every score is a base value plus ``shift[variant]``
    (a function of the seed and task), with 10,000 items so that the items' term is small."""
    from pruning_lib.evaluation.evaluate import main_metric
    from pruning_lib.evaluation.tasks import TASK_NAMES

    sweeps = []
    for seed in range(4):
        sweep = {}
        for key, change in shift.items():
            scores = {}
            for index, task in enumerate(TASK_NAMES):
                value = 0.6 + 0.02 * seed + 0.01 * index + change(seed, task)
                scores[task] = {main_metric(task): value, "chance": 0.1}
            sweep[key] = {"scores": scores}
        sweeps.append(sweep)
    return sweeps


def test_pattern_checks_state_yes_no_or_not_shown_and_sign_a_rise_as_a_rise():
    from pruning_lib.evaluation.tasks import TASK_NAMES
    from pruning_lib.study.records import make_records
    from pruning_lib.study.results import pattern_checks

    wobble = [0.001, -0.001, 0.0015, -0.0015]  # seed to seed: a difference this size is noise
    shift = {
        ("dense", 0.0): lambda seed, task: 0.0,
        ("control", 0.0): lambda seed, task: 0.05,
        # At 0.1 LAMBADA rises by 0.004 at every seed (a rise, the largest change).
        ("one-shot", 0.1): lambda seed, task: 0.004 if task == "lambada" else 0.0,
        ("fine-tuned", 0.1): lambda seed, task: 0.05 + wobble[seed],  # as the control
        ("one-shot", 0.5): lambda seed, task: -0.2 - (0.1 if task in ("lambada",) else 0.0),
        ("fine-tuned", 0.5): lambda seed, task: 0.03,
    }
    records = make_records(_sweeps(shift), dict.fromkeys(TASK_NAMES, 10_000))
    states = [c["state"] for c in pattern_checks(records, [0.1, 0.5])]
    assert all(s in ("yes", "no", "not shown") for s in states)
    by_claim = {c["claim"]: c for c in pattern_checks(records, [0.1, 0.5])}
    first = next(c for claim, c in by_claim.items() if claim.startswith("at 0.1 one-shot"))
    assert "pruned − dense (lambada) +0.004" in first["detail"]  # a rise keeps its + sign
    general = next(c for claim, c in by_claim.items() if "generalization" in claim)
    assert general["state"] == "not shown" and "inconclusive" in general["detail"]
    every = next(c for claim, c in by_claim.items() if "every task's score falls" in claim)
    assert every["state"] == "yes"
    # The completion tasks (LAMBADA falls 0.1 more) fall more than the QA tasks: shown.
    completion = next(c for claim, c in by_claim.items() if "completion score falls" in claim)
    assert completion["state"] == "yes"


def test_a_perplexity_record_is_a_geometric_mean_with_an_interval_from_the_logs():
    from pruning_lib.evaluation.tasks import TASK_NAMES
    from pruning_lib.study.records import find, make_records

    def scores(ppl):
        out = {t: {"acc": 0.5, "exact_match": 0.5, "chance": 0.1} for t in TASK_NAMES}
        out["lambada"]["ppl"] = ppl
        return {"scores": out}

    values = [4.0, 5.0, 6.0, 40000.0]  # one seed collapsed
    sweeps = [{("one-shot", 0.9): scores(v)} for v in values]
    record = find(make_records(sweeps, dict.fromkeys(TASK_NAMES, 200)), "one-shot", 0.9,
                  "lambada", "ppl")  # fmt: skip
    logs = [math.log(v) for v in values]
    assert record["mean"] == pytest.approx(math.exp(mean(logs)))  # by hand: about 44
    half = t95(3) * stdev(logs) / 2
    assert record["ci_low"] == pytest.approx(math.exp(mean(logs) - half))
    assert record["ci_high"] == pytest.approx(math.exp(mean(logs) + half))
    assert record["values"] == values and record["ci_low"] > 0
