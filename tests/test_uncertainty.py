"""Intervals over seeds and items, against scipy's t distribution and hand computations."""

import math

import pytest
from scipy import stats

from pruning_lib.study.records import make_records, mean_record
from pruning_lib.study.uncertainty import (
    CORRECT,
    Verdicts,
    beyond,
    difference,
    half_width,
    holm,
    interval_text,
    item_term,
    p_value,
    paired,
    paired_item_term,
    ratio_item_term,
    summarize,
    t95,
    verdict,
)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 11, 15, 30, 31, 45, 100])
def test_t_quantile_matches_scipy(df):
    assert t95(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-3)


def test_seed_term_is_scipys_t_interval():
    values = [0.61, 0.66, 0.58, 0.64]
    low, high = stats.t.interval(0.95, len(values) - 1, loc=0, scale=stats.sem(values))
    assert half_width(values) == pytest.approx(high, rel=1e-3)
    assert half_width([0.5]) == 0  # one seed: no seed term, and no items given


def test_item_term_by_hand():
    # Agresti-Coull: q = (0.62 * 200 + 2) / 204, half = 1.96 * sqrt(q (1 - q) / 204)
    q = (124 + 2) / 204
    assert item_term(0.62, 200) == pytest.approx(1.959964 * math.sqrt(q * (1 - q) / 204))
    assert item_term(1.0, 200) > 0 and item_term(0.0, 200) > 0  # a perfect score is not certain


def test_both_terms_add_in_quadrature_and_clip_to_the_unit_interval():
    values = [0.97, 0.99, 1.0]
    seeds = stats.t.ppf(0.975, 2) * stats.sem(values)
    expected = math.hypot(seeds, item_term(sum(values) / 3, 50))
    record = summarize(values, n_items=50)
    assert record["ci_low"] == pytest.approx(record["mean"] - expected, rel=1e-3)
    assert record["ci_high"] == 1.0  # clipped
    assert record["values"] == values and record["sd"] == pytest.approx(stats.tstd(values))
    unbounded = summarize([9.0, 11.0])  # e.g. a perplexity: no item term, no clipping
    assert unbounded["ci_low"] == pytest.approx(10 - 12.706 * 1.0)


def test_difference_and_verdicts():
    a = {"mean": 0.60, "ci_low": 0.57, "ci_high": 0.63}
    b = {"mean": 0.58, "ci_low": 0.54, "ci_high": 0.62}
    value, noise = difference(a, b)
    assert value == pytest.approx(0.02) and noise == pytest.approx(0.05)
    far = {**b, "mean": 0.50, "ci_low": 0.46, "ci_high": 0.54}
    assert abs(difference(a, far)[0]) > difference(a, far)[1]
    inside = "the fall +0.020 ± 0.050 (95%, 4 seeds): inconclusive, the interval holds zero"
    assert verdict("the fall", 0.02, 0.05, seeds=4) == inside
    assert verdict("the fall", -0.08, 0.05, seeds=4) == (
        "the fall -0.080 ± 0.050 (95%, 4 seeds): beyond the noise"
    )
    # One seed: never evidence, whatever the size (the seed-to-seed spread is not in it).
    for value in (0.02, -0.08):
        sentence = verdict("the fall", value, 0.05, seeds=1)
        assert "a hint, not evidence" in sentence and "beyond the noise" not in sentence
    assert "outside the items' noise" in verdict("the fall", -0.08, 0.05, seeds=1)
    assert "inside the items' noise" in verdict("the fall", 0.02, 0.05, seeds=1)
    for seeds in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="seeds="):
            verdict("the fall", 0.02, 0.05, seeds=seeds)
    assert math.isnan(difference(a, {**b, "mean": float("nan")})[0])


def test_empty_values_are_refused():
    with pytest.raises(ValueError, match="values"):
        summarize([])


def _sweep(nq: float, lambada: float) -> dict:
    scores = {
        "lambada": {"acc": lambada, "ppl": 8.0, "chance": 0.1},
        "story_cloze": {"acc": 0.7, "chance": 0.5},
        "hellaswag": {"acc": 0.6, "acc_norm": 0.6, "chance": 0.25},
        "nq_open": {"exact_match": nq, "chance": 0.0},
        "web_questions": {"exact_match": 0.5, "chance": 0.0},
        "trivia_qa": {"exact_match": 0.8, "chance": 0.0},
    }
    return {("dense", 0.0): {"scores": scores}}


def test_records_one_per_variant_task_and_metric_with_every_seed():
    items = dict.fromkeys(
        ["lambada", "story_cloze", "hellaswag", "nq_open", "web_questions", "trivia_qa"], 100
    )
    records = make_records([_sweep(0.4, 0.6), _sweep(0.5, 0.7)], items)
    keys = [(r["task"], r["metric"]) for r in records]
    assert len(keys) == len(set(keys)) == 8  # chance is not a record
    nq = next(r for r in records if r["task"] == "nq_open")
    assert nq["values"] == [0.4, 0.5] and nq["mean"] == pytest.approx(0.45)
    assert set(nq) >= {"variant", "sparsity", "task", "metric", "values", "mean"}
    ppl = next(r for r in records if r["metric"] == "ppl")
    assert ppl["n_items"] is None and ppl["ci_low"] == ppl["ci_high"] == pytest.approx(8.0)
    qa = mean_record(records, "dense", 0.0, ["nq_open", "web_questions", "trivia_qa"])
    assert qa["values"] == pytest.approx([(0.4 + 0.5 + 0.8) / 3, (0.5 + 0.5 + 0.8) / 3])
    # The item term of a mean of three independent sets: sqrt(sum of squares) / 3.
    items_only = math.sqrt(sum(item_term(p, 100) ** 2 for p in (0.45, 0.5, 0.8))) / 3
    assert qa["ci_high"] - qa["mean"] == pytest.approx(
        math.hypot(half_width(qa["values"]), items_only)
    )


def test_paired_difference_is_scipys_paired_t_interval_plus_the_items():
    a = {"values": [0.64, 0.02, 0.05], "item_half": 0.0}
    b = {"values": [0.50, 0.01, 0.07], "item_half": 0.0}
    value, noise = paired(a, b)
    deltas = [0.14, 0.01, -0.02]
    low, high = stats.t.interval(0.95, 2, loc=0, scale=stats.sem(deltas))
    assert value == pytest.approx(sum(deltas) / 3) and noise == pytest.approx(high, rel=1e-3)
    # Seeds that disagree wildly on the level but agree on the fall: paired sees the fall.
    a = {"values": [0.64, 0.02, 0.30], "item_half": 0.01}
    b = {"values": [0.54, -0.08, 0.20], "item_half": 0.02}
    value, noise = paired(a, b)
    assert value == pytest.approx(0.10) and noise == pytest.approx(math.hypot(0.01, 0.02))
    assert noise < difference(summarize(a["values"]), summarize(b["values"]))[1] / 10
    with pytest.raises(ValueError, match="one value per seed"):
        paired(a, {"values": [0.1], "item_half": 0.0})


def test_paired_item_term_is_the_mcnemar_variance_by_hand():
    # One seed: with b items right only in a and c right only in b, plus one pseudo-item
    # each way (Agresti-Min), the differences are +1 (b + 1 times), -1 (c + 1 times), 0
    # otherwise, over n + 2; their sample variance is
    # (n + 2) / (n + 1) * ((b + c + 2) / (n + 2) - ((b - c) / (n + 2)) ** 2).
    a = "1" * 30 + "0" * 10 + "1" * 50 + "0" * 110
    b = "0" * 30 + "1" * 10 + "1" * 50 + "0" * 110
    n, right_only_a, right_only_b = 200, 30, 10
    share = (right_only_a + right_only_b + 2) / (n + 2)
    shift = (right_only_a - right_only_b) / (n + 2)
    variance = (n + 2) / (n + 1) * (share - shift**2)
    assert paired_item_term([a], [b]) == pytest.approx(1.959964 * math.sqrt(variance / (n + 2)))
    # Two seeds: each item's difference is averaged over the seeds first.
    both = paired_item_term([a, a], [b, a])
    halves = [0.5] * 30 + [-0.5] * 10 + [0.0] * 160 + [1.0, -1.0]
    assert both == pytest.approx(1.959964 * stats.tstd(halves) / math.sqrt(n + 2), rel=1e-6)
    with pytest.raises(ValueError, match="one outcome string per seed"):
        paired_item_term([a], [b, b])


def test_a_few_items_lost_one_way_are_judged_as_the_sign_test_judges_them():
    # 200 items, k lost and none won: the exact two-sided sign test has p = 2 / 2**k.
    for lost in range(1, 12):
        a, b = ["1" * lost + "0" * (200 - lost)], ["0" * 200]
        beyond = lost / 200 > paired_item_term(a, b)
        assert beyond == (stats.binomtest(lost, lost).pvalue < 0.05), lost


def test_paired_uses_the_items_when_both_runs_have_them():
    # Two runs that differ on 2 items of 200, at every seed: the unpaired item terms
    # (about 0.06 each) hide a difference that the items show plainly.
    a = {"values": [0.51] * 3, "item_half": 0.069, CORRECT: ["11" + "1" * 100 + "0" * 98] * 3}
    b = {"values": [0.50] * 3, "item_half": 0.069, CORRECT: ["01" + "1" * 100 + "0" * 98] * 3}
    value, noise = paired(a, b)
    assert value == pytest.approx(0.01)
    assert noise == pytest.approx(paired_item_term(a[CORRECT], b[CORRECT]))
    assert noise < 0.03 < math.hypot(0.069, 0.069)
    without = {k: v for k, v in a.items() if k != CORRECT}
    assert paired(without, b)[1] == pytest.approx(math.hypot(0.069, 0.069))  # the fallback


def _scores(nq: str, web: str) -> dict:
    scores = {t: {"acc": 0.5, "chance": 0.0} for t in ("lambada", "story_cloze", "hellaswag")}
    scores["trivia_qa"] = {"exact_match": 0.5, "chance": 0.0}
    for task, correct in (("nq_open", nq), ("web_questions", web)):
        scores[task] = {"exact_match": correct.count("1") / 4, "chance": 0.0, CORRECT: correct}
    return scores


def test_a_mean_over_tasks_pairs_task_by_task():
    runs = {("a", 0.0): {"scores": _scores("1100", "1010")}}
    runs[("b", 0.0)] = {"scores": _scores("1000", "1010")}
    records = make_records([runs], {t: 4 for t in runs[("a", 0.0)]["scores"]})
    tasks = ("nq_open", "web_questions")
    a, b = (mean_record(records, v, 0.0, tasks) for v in ("a", "b"))
    value, noise = paired(a, b)
    assert value == pytest.approx(0.125)  # NQ 0.5 - 0.25, WebQ the same outcomes
    # Each task on its own items: the root of the sum of squares over the count (2).
    nq, web = paired_item_term(["1100"], ["1000"]), paired_item_term(["1010"], ["1010"])
    assert web > 0 and noise == pytest.approx(math.hypot(nq, web) / 2)  # alike: pseudo-items


def test_the_ratio_item_term_matches_a_bootstrap_over_items():
    """Retention (pruned / dense on the same items): the delta method item by item agrees
    with resampling the items, an independent estimate of the same spread."""
    import random
    import statistics

    from pruning_lib.study.uncertainty import ratio_item_term

    rng = random.Random(0)
    n = 400
    dense = ["1" if rng.random() < 0.8 else "0" for _ in range(n)]
    # the pruned model mostly keeps what dense gets right: the two runs move together
    pruned = [("1" if rng.random() < 0.85 else "0") if x == "1" else "0" for x in dense]
    a, b = "".join(pruned), "".join(dense)
    ratios = []
    for _ in range(2000):
        sample = [rng.randrange(n) for _ in range(n)]
        ratios.append(sum(int(a[i]) for i in sample) / sum(int(b[i]) for i in sample))
    bootstrap = 1.959964 * statistics.stdev(ratios)
    term = ratio_item_term([a], [b])
    assert abs(term - bootstrap) / bootstrap < 0.1
    # Taken as independent runs, the same two scores would look nearly twice as noisy.
    p, q = a.count("1") / n, b.count("1") / n
    unpaired = (p / q) * math.hypot(item_term(p, n) / p, item_term(q, n) / q)
    assert unpaired > 1.5 * term


def test_retention_pairs_items_where_the_records_hold_them():
    from pruning_lib.study.records import retention
    from pruning_lib.study.uncertainty import ratio_item_term

    dense, pruned = ["1101", "1110"], ["1001", "0110"]
    records = [
        {"variant": "dense", "sparsity": 0.0, "task": "nq_open", "metric": "exact_match",
         "values": [0.75, 0.75], "mean": 0.75, "item_half": 0.4, CORRECT: dense},
        {"variant": "one-shot", "sparsity": 0.5, "task": "nq_open", "metric": "exact_match",
         "values": [0.5, 0.5], "mean": 0.5, "item_half": 0.45, CORRECT: pruned},
    ]  # fmt: skip
    centre, half_width = retention(records, "one-shot", 0.5, "nq_open", "dense")
    assert centre == pytest.approx(2 / 3)
    # the seeds agree (t term 0): only the items' term of the ratio remains
    assert half_width == pytest.approx(ratio_item_term(pruned, dense))
    for record in records:
        del record[CORRECT]
    _, unpaired = retention(records, "one-shot", 0.5, "nq_open", "dense")
    assert unpaired == pytest.approx((2 / 3) * math.hypot(0.45 / 0.5, 0.4 / 0.75))


def test_t95_is_the_three_decimal_table_then_a_series_of_third_order_error():
    for df in range(1, 31):  # the table: scipy's quantile to three decimals
        assert t95(df) == round(stats.t.ppf(0.975, df), 3), df
    for df in (31, 40, 100, 1000, 10_000):  # Cornish-Fisher to 1/df**2: error ~ 2.6/df**3
        assert abs(t95(df) - stats.t.ppf(0.975, df)) * df**3 < 3, df


def test_refusals_say_what_is_wrong_in_one_line():
    with pytest.raises(ValueError) as error:
        t95(0)
    assert str(error.value) == "df=0 is out of range; allowed: [1, inf)"
    for empty in (half_width, summarize):
        with pytest.raises(ValueError) as error:
            empty([])
        assert str(error.value) == "values=[] is empty; give one score per seed"
    with pytest.raises(ValueError) as error:
        paired_item_term(["10"], ["1"])  # one seed each, but strings of two lengths
    assert str(error.value) == "a and b need one outcome string per seed each, all of one length"
    with pytest.raises(ValueError) as error:
        ratio_item_term(["10"], ["00"])
    assert str(error.value) == "b gets no item right: the ratio mean(a) / mean(b) is undefined"
    with pytest.raises(ValueError) as error:
        paired({"values": [0.5, 0.6]}, {"values": [0.5]})
    assert str(error.value) == "paired records need one value per seed each, for the same seeds"


def test_a_score_above_one_counts_as_one_in_the_item_term():
    assert item_term(1.3, 200) == item_term(1.0, 200)


def test_summarize_spread_and_item_half():
    one = summarize([0.5], n_items=100)
    assert one["sd"] == 0.0 and one["item_half"] == item_term(0.5, 100)
    two = summarize([0.5, 0.7], n_items=100)
    assert two["sd"] == pytest.approx(stats.tstd([0.5, 0.7]))
    assert summarize([0.5, 0.7])["item_half"] == 0.0  # no items given: e.g. a perplexity


def test_ratio_item_term_at_two_seeds_by_the_delta_method():
    # Two seeds; b gets one item right on average (the sum of its item means is 1).
    a, b = ["1100", "1000"], ["1000", "1000"]
    mean_a, mean_b = [1.0, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]
    ratio = sum(mean_a) / sum(mean_b)  # 1.5
    terms = [x - ratio * y for x, y in zip(mean_a, mean_b)] + [1.0, -ratio]
    expected = 1.959964 * stats.tstd(terms) / math.sqrt(6) / (sum(mean_b) / 4)
    assert ratio_item_term(a, b) == pytest.approx(expected, rel=1e-6)


def test_paired_at_two_seeds_and_records_without_an_item_term():
    a = {"values": [0.6, 0.5]}  # no item_half: its item term counts as zero
    b = {"values": [0.5, 0.3], "item_half": 0.03}
    value, noise = paired(a, b)
    seeds = stats.t.ppf(0.975, 1) * stats.sem([0.1, 0.2])
    assert value == pytest.approx(0.15) and noise == pytest.approx(
        math.hypot(seeds, 0.03), rel=1e-4
    )
    assert paired(b, a)[1] == pytest.approx(noise)
    # one record a mean over tasks (parts), the other not: the unpaired fallback
    mean = {"values": [0.6, 0.5], "item_half": 0.04, "parts": []}
    assert paired(mean, b)[1] == pytest.approx(math.hypot(seeds, 0.04, 0.03), rel=1e-4)


def test_a_value_at_the_noise_exactly_is_within_it():
    sentence = verdict("the fall", 0.05, 0.05, seeds=2)
    assert sentence.endswith("inconclusive, the interval holds zero")
    assert not beyond(0.05, 0.05, 2) and beyond(0.0501, 0.05, 2) and not beyond(0.9, 0.05, 1)


def test_verdicts_count_and_state_the_false_positive_rate():
    verdicts = Verdicts()
    assert verdicts.note() == "no verdicts."
    for value in (0.1, 0.01, -0.2):
        verdicts("x", value, 0.05, seeds=4)
    verdicts("y", 0.3, 0.05, seeds=1)
    note = verdicts.note()
    # 3 verdicts at 4 seeds, 2 beyond; 5% of 3 is 0.15 by chance; 1 one-seed hint.
    assert note.startswith("3 verdicts at 4 seeds, each at 95%: 2 beyond the noise.")
    assert "(about 0.15 of 3)" in note
    # Holm, by hand: p of 0.1/0.05 and 0.2/0.05 as normal deviates (1.96 x 2 and x 4) are
    # 8.9e-5 and 4e-15, both below 0.05/3; 0.01/0.05 is p = 0.69.
    assert "under Holm's correction for 3 comparisons, 2 stay beyond it" in note
    assert note.endswith("1 one-seed hint, not evidence.")
    twenty = Verdicts()
    for _ in range(19):
        twenty("x", 0.0, 0.05, seeds=3)
    twenty("the one", 0.06, 0.05, seeds=3)  # beyond alone, p = 0.019 > 0.05 / 20: not kept
    assert "1 beyond the noise" in twenty.note() and "(about 1 of 20)" in twenty.note()
    assert "20 comparisons, 0 stay beyond it (not: the one)" in twenty.note()
    assert p_value(0.06, 0.05) == pytest.approx(0.0186, abs=1e-3)


def test_holm_against_its_definition():
    # m = 4: sorted 0.001 <= 0.0125, 0.01 <= 0.0167, 0.03 > 0.025: stop; 0.02 never tried.
    assert holm([0.03, 0.001, 0.01, 0.04]) == [False, True, True, False]
    assert holm([]) == [] and holm([0.05]) == [True] and holm([0.051]) == [False]


def test_interval_text_keeps_a_score_inside_zero_and_one():
    assert interval_text({"mean": 0.633, "ci_low": 0.134, "ci_high": 1.132}) == (
        "0.633 [0.134, 1.000]"
    )
    assert interval_text({"mean": 0.02, "ci_low": -0.05, "ci_high": 0.09}) == "0.020 [0.000, 0.090]"


def test_a_verdict_keeps_a_change_where_the_score_can_go():
    # From a score of 0.654, a change cannot go below -0.654: printed as kept.
    sentence = verdict("x", -0.648, 0.267, seeds=4, base=0.654)
    assert sentence == "x -0.648 [-0.654, -0.381] (95%, 4 seeds): beyond the noise"
    assert verdict("x", -0.1, 0.05, seeds=4, base=0.654) == (
        "x -0.100 ± 0.050 (95%, 4 seeds): beyond the noise"
    )
