"""How sure is a score? Intervals over seeds and items, and verdicts printed from them.

A score of our study varies for two reasons: the training seed (initialisation and data
order) and the sample of evaluation items. We combine both into one 95% interval:

- **seeds**: the spread of the per-seed scores, ``t(k - 1) * sd / sqrt(k)`` for ``k``
  seeds (Student's t; nothing with one seed);
- **items**: for a score that is a fraction of ``n`` items, the binomial term of the mean
  score ``p`` in Agresti and Coull's form, ``1.96 * sqrt(q (1 - q) / (n + 4))`` with
  ``q = (p n + 2) / (n + 4)`` (so that a score of 0 or 1 is not certain); the items are the
  same for every seed, so this term does not shrink with more seeds.

The half-width is the root of the sum of their squares. Two runs of the same study are
*paired*: the same seed's model, pruned or not, on the same items. Their difference is taken
seed by seed (:func:`paired`): the seed term is the t interval of the per-seed differences;
the item term comes from the items' own differences (:func:`paired_item_term`: each item's
difference averaged over the seeds, ``1.96 * sd / sqrt(n)``), because the same items make
the two scores move together: an item both runs get right or both get wrong says nothing
about their difference. Where the runs' item-by-item outcomes are not at hand it falls back
to the root of the sum of both runs' squared item terms, which ignores that pairing and is
larger. The seed and item terms both hold the seed-by-item interaction, so their sum
counts it twice: the interval errs wide. A retention (a pruned score over the dense score,
Figures 3 and 4) takes its item term item by item too (:func:`ratio_item_term`). A mean
over tasks treats their item sets as independent; the choice sets ask some of the same
facts as the QA sets, so for a mean that mixes them (the mean of all six) the item term is
somewhat too small. Two independent runs (another machine's ``results.json`` against ours)
combine their whole half-widths (:func:`difference`).

Example:
    >>> r = summarize([0.60, 0.64, 0.62], n_items=200)
    >>> round(r["mean"], 3), round(r["ci_low"], 3), round(r["ci_high"], 3)
    (0.62, 0.537, 0.703)
    >>> verdict("the fall", 0.012, 0.03, seeds=3)
    'the fall +0.012 ± 0.030 (95%, 3 seeds): inconclusive, the interval holds zero'
"""

from __future__ import annotations

import math
from statistics import mean, stdev
from typing import Any

from ..evaluation.tasks import CORRECT

Z95 = 1.959963984540054  # the normal 97.5% quantile
# Student's t 97.5% quantiles for 1..30 degrees of freedom (beyond: a series in 1/df).
T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t95(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom.

    Example:
        >>> t95(2), round(t95(1000), 3)
        (4.303, 1.962)
    """
    if df < 1:
        raise ValueError(f"df={df} is out of range; allowed: [1, inf)")
    if df <= len(T95):
        return T95[df - 1]
    z = Z95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def half_width(values: list[float], n_items: int | None = None) -> float:
    """The 95% half-width of the mean of ``values`` (one per seed); ``n_items`` adds the
    item-sampling term of a fraction-of-items score (``None`` for e.g. perplexity)."""
    if not values:
        raise ValueError("values=[] is empty; give one score per seed")
    seeds = t95(len(values) - 1) * stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0
    items = item_term(mean(values), n_items) if n_items else 0.0
    return math.sqrt(seeds**2 + items**2)


def mean_item_term(scores_and_items: list[tuple[float, int]]) -> float:
    """The item term of the mean of several scores on independent item sets: the root of
    the sum of their squared terms over their count.

    Example:
        >>> two = mean_item_term([(0.5, 200), (0.5, 200)])
        >>> abs(two - item_term(0.5, 200) / 2**0.5) < 1e-12
        True
    """
    terms = [item_term(score, n) for score, n in scores_and_items]
    return math.sqrt(sum(t * t for t in terms)) / len(terms)


def item_term(score: float, n_items: int) -> float:
    """The 95% half-width that the sample of ``n_items`` items gives a fraction ``score``.

    Example:
        >>> round(item_term(0.5, 200), 3), round(item_term(1.0, 200), 3)
        (0.069, 0.014)
    """
    p = min(max(score, 0.0), 1.0)
    q = (p * n_items + 2) / (n_items + 4)
    return Z95 * math.sqrt(q * (1 - q) / (n_items + 4))


def summarize(values: list[float], n_items: int | None = None) -> dict[str, Any]:
    """``values`` with their mean, seed spread (sd) and 95% interval.

    A fraction-of-items score (``n_items`` given) keeps its interval within [0, 1].
    """
    if not values:
        raise ValueError("values=[] is empty; give one score per seed")
    centre = mean(values)
    half = half_width(values, n_items)
    low, high = centre - half, centre + half
    if n_items:
        low, high = max(low, 0.0), min(high, 1.0)
    return {
        "values": list(values),
        "mean": centre,
        "sd": stdev(values) if len(values) > 1 else 0.0,
        "ci_low": low,
        "ci_high": high,
        "item_half": item_term(centre, n_items) if n_items else 0.0,
    }


def _right_per_item(a: list[str], b: list[str]) -> tuple[int, list[int], list[int]]:
    """The number of seeds, and how many seeds get each item right in ``a`` and in ``b``
    (one outcome string of 0s and 1s per seed, all of one length)."""
    if len(a) != len(b) or not a or len({len(x) for x in (*a, *b)}) != 1:
        raise ValueError("a and b need one outcome string per seed each, all of one length")
    right_a = [sum(int(x[i]) for x in a) for i in range(len(a[0]))]
    right_b = [sum(int(y[i]) for y in b) for i in range(len(b[0]))]
    return len(a), right_a, right_b


def paired_item_term(a: list[str], b: list[str]) -> float:
    """The 95% half-width that the sample of items gives the mean difference ``a - b`` of
    two runs scored on the same items: ``1.96 * sd / sqrt(n)`` of the items' differences,
    each averaged over the seeds, with one pseudo-item each way (a difference of +1 and one
    of -1, as Agresti and Min add to the discordant cells), so that a handful of items that
    moved one way is not certain: with one seed and 200 items, 4 items lost and none won is
    within the noise, 6 is not, as the exact sign test says (p = 0.125 and 0.031).
    ``a`` and ``b`` hold one string of 0s and 1s per seed.

    Example:
        >>> round(paired_item_term(["1100"], ["1000"]), 3)  # differences 0, 1, 0, 0; +1, -1
        0.602
        >>> round(paired_item_term(["1010", "0110"], ["1010", "0110"]), 3)  # only the pseudo-items
        0.506
    """
    seeds, right_a, right_b = _right_per_item(a, b)
    diffs = [(x - y) / seeds for x, y in zip(right_a, right_b, strict=True)]
    diffs += [1.0, -1.0]
    return Z95 * stdev(diffs) / math.sqrt(len(diffs))


def ratio_item_term(a: list[str], b: list[str]) -> float:
    """The 95% half-width that the sample of items gives the ratio ``mean(a) / mean(b)`` of
    two runs scored on the same items (a retention: pruned score over dense score), by the
    delta method item by item: ``1.96 * sd(a_i - R b_i) / (sqrt(n) * mean(b))``, where
    ``a_i`` and ``b_i`` are each item's outcome averaged over the seeds and ``R`` the ratio,
    with the pseudo-items of :func:`paired_item_term` (one item only ``a`` gets right, one
    only ``b``; they enter the spread and the count ``n + 2``, not ``R`` or ``mean(b)``,
    which stay the real items'). Where ``R`` is 1 it is that term over ``mean(b)``.

    Example:
        >>> a, b = ["1100"], ["1000"]
        >>> round(ratio_item_term(a, a), 3) == round(paired_item_term(a, a) / 0.5, 3)
        True
        >>> round(ratio_item_term(a, b), 3)  # R = 2: 1 - 2, 1, 0, 0 and the pseudo 1, -2
        3.742
    """
    seeds, right_a, right_b = _right_per_item(a, b)
    n = len(right_a)
    mean_a = [x / seeds for x in right_a]
    mean_b = [y / seeds for y in right_b]
    if sum(mean_b) == 0:
        raise ValueError("b gets no item right: the ratio mean(a) / mean(b) is undefined")
    ratio = sum(mean_a) / sum(mean_b)
    terms = [x - ratio * y for x, y in zip(mean_a, mean_b, strict=True)] + [1.0, -ratio]
    return Z95 * stdev(terms) / math.sqrt(len(terms)) / (sum(mean_b) / n)


def paired_items(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """The item term of ``a - b`` from item-by-item outcomes, or None where they are not
    there. A mean over tasks (``parts``: one record per task, each on its own items) pairs
    task by task: the root of the sum of the tasks' squared terms over their count."""
    if CORRECT in a and CORRECT in b and len(a[CORRECT]) == len(b[CORRECT]):
        if len({len(x) for x in (*a[CORRECT], *b[CORRECT])}) == 1:
            return paired_item_term(a[CORRECT], b[CORRECT])
        return None
    if "parts" in a and "parts" in b and len(a["parts"]) == len(b["parts"]):
        terms = [paired_items(x, y) for x, y in zip(a["parts"], b["parts"])]
        if any(t is None for t in terms):
            return None
        return math.sqrt(sum(t * t for t in terms)) / len(terms)
    return None


def paired(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float]:
    """``a - b`` seed by seed and its 95% half-width (see the module docstring); both
    records hold one value per seed, in the same seed order, and either their outcomes
    item by item (``CORRECT``, or ``parts`` for a mean over tasks) or their ``item_half``.

    Example:
        >>> a = {"values": [0.60, 0.20, 0.40], "item_half": 0.03}
        >>> b = {"values": [0.50, 0.10, 0.30], "item_half": 0.04}
        >>> [round(x, 3) for x in paired(a, b)]  # the seeds agree: only the items remain
        [0.1, 0.05]
        >>> a[CORRECT], b[CORRECT] = ["1100"] * 3, ["1000"] * 3  # item by item
        >>> round(paired(a, b)[1], 3)
        0.602
    """
    if len(a["values"]) != len(b["values"]):
        raise ValueError("paired records need one value per seed each, for the same seeds")
    deltas = [x - y for x, y in zip(a["values"], b["values"], strict=True)]
    k = len(deltas)
    seeds = t95(k - 1) * stdev(deltas) / math.sqrt(k) if k > 1 else 0.0
    items = paired_items(a, b)
    if items is None:
        items = math.hypot(a.get("item_half", 0.0), b.get("item_half", 0.0))
    return mean(deltas), math.hypot(seeds, items)


def interval_text(record: dict[str, Any]) -> str:
    """A score's mean and 95% interval, the interval kept inside [0, 1] (a score is a
    fraction of items).

    Example:
        >>> interval_text({"mean": 0.633, "ci_low": 0.134, "ci_high": 1.132})
        '0.633 [0.134, 1.000]'
    """
    low, high = max(record["ci_low"], 0.0), min(record["ci_high"], 1.0)
    return f"{record['mean']:.3f} [{low:.3f}, {high:.3f}]"


def change_interval(value: float, noise: float, base: float) -> tuple[float, float]:
    """The 95% interval of a change ``value ± noise`` of a score from ``base``, kept where
    such a change can be: the changed score stays inside [0, 1], so the change inside
    [-base, 1 - base].

    Example:
        >>> change_interval(-0.777, 0.320, base=0.777)
        (-0.777, -0.457)
    """
    low, high = max(value - noise, -base), min(value + noise, 1.0 - base)
    return round(low, 12), round(high, 12)


def half(record: dict[str, Any]) -> float:
    """The half-width of a record's interval (its larger side, when clipped at 0 or 1)."""
    return max(record["mean"] - record["ci_low"], record["ci_high"] - record["mean"])


def difference(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float]:
    """``a - b`` and the 95% half-width of that difference.

    Example:
        >>> a = {"mean": 0.6, "ci_low": 0.57, "ci_high": 0.63}
        >>> b = {"mean": 0.5, "ci_low": 0.46, "ci_high": 0.54}
        >>> [round(x, 3) for x in difference(a, b)]
        [0.1, 0.05]
    """
    return a["mean"] - b["mean"], math.hypot(half(a), half(b))


def verdict(what: str, value: float, noise: float, seeds: int, base: float | None = None) -> str:
    """The one sentence every verdict of the notebooks is printed with: ``value`` (a
    difference) against its 95% half-width ``noise`` at ``seeds`` training seeds, so that
    prose printed by a notebook can never contradict the numbers above it.

    At several seeds the interval holds the seed-to-seed spread: a value beyond it is
    evidence, one within it is *inconclusive* (the interval holds zero; it is not shown to
    be zero). At one seed the interval holds the items' noise only, while the spread from
    seed to seed is often larger (notebook 07 measures it): whatever its size, the value is
    a hint, not evidence. With ``base``, the score the change is from, an interval that
    would take the score below 0 or above 1 is printed as it is kept
    (:func:`change_interval`).

    Example:
        >>> verdict("the fall", 0.012, 0.03, seeds=4)
        'the fall +0.012 ± 0.030 (95%, 4 seeds): inconclusive, the interval holds zero'
        >>> verdict("the fall", 0.05, 0.03, seeds=4)
        'the fall +0.050 ± 0.030 (95%, 4 seeds): beyond the noise'
        >>> verdict("the fall", 0.05, 0.03, seeds=1)[:60]
        'the fall +0.050 ± 0.030 (95%, items only, one seed): a hint,'
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds={seeds!r} must be a whole number >= 1")
    value = 0.0 if round(value, 3) == 0 else value  # no "-0.000"
    spread = f"{value:+.3f} ± {noise:.3f}"
    if base is not None and (value - noise < -base or value + noise > 1.0 - base):
        low, high = change_interval(value, noise, base)
        spread = f"{value:+.3f} [{low:+.3f}, {high:+.3f}]"
    if seeds == 1:
        side = "outside" if abs(value) > noise else "inside"
        return (
            f"{what} {spread} (95%, items only, one seed): a hint, not "
            f"evidence ({side} the items' noise; the seed-to-seed spread is not in it)"
        )
    shown = f"{what} {spread} (95%, {seeds} seeds)"
    if abs(value) > noise:
        return f"{shown}: beyond the noise"
    return f"{shown}: inconclusive, the interval holds zero"


def beyond(value: float, noise: float, seeds: int) -> bool:
    """Whether :func:`verdict` calls ``value`` evidence: several seeds, outside the noise."""
    return seeds > 1 and abs(value) > noise


def p_value(value: float, noise: float) -> float:
    """The two-sided p-value of ``value`` whose 95% half-width is ``noise``, reading
    ``value / (noise / 1.96)`` as a normal deviate (the half-widths here join a t interval
    and the items' term, so this is an approximation).

    Example:
        >>> round(p_value(0.05, 0.05), 3), round(p_value(0.0, 0.05), 3)
        (0.05, 1.0)
    """
    if noise <= 0:
        return 0.0 if value else 1.0
    return math.erfc(abs(value) / (noise / Z95) / math.sqrt(2))


def holm(p_values: list[float], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down correction: which of several p-values stay significant at a family
    error rate ``alpha`` (the smallest against alpha/m, the next against alpha/(m-1)...,
    stopping at the first that fails).

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.5])
        [True, False, False, False]
        >>> holm([0.001, 0.012, 0.02])
        [True, True, True]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    kept = [False] * len(p_values)
    for rank, index in enumerate(order):
        if p_values[index] > alpha / (len(p_values) - rank):
            break
        kept[index] = True
    return kept


class Verdicts:
    """The verdicts of one notebook, each made by :func:`verdict` and counted, so that the
    notebook can say what a 5% false-positive rate means for all of them together.

    Example:
        >>> verdicts = Verdicts()
        >>> verdicts("a", 0.05, 0.03, seeds=4)[-16:]
        'beyond the noise'
        >>> print(verdicts.note())
        1 verdict at 4 seeds, each at 95%: 1 beyond the noise. ...
    """

    def __init__(self) -> None:
        self.made: list[tuple[float, float, int]] = []
        self.labels: list[str] = []

    def __call__(
        self, what: str, value: float, noise: float, seeds: int, base: float | None = None
    ) -> str:
        sentence = verdict(what, value, noise, seeds, base)
        self.made.append((value, noise, seeds))
        self.labels.append(what)
        return sentence

    def note(self) -> str:
        """How many verdicts were made, how many are beyond the noise, how many of them a
        5% false-positive rate would give if no difference were real, and how many stay
        beyond it under Holm's correction for their number (:func:`holm`)."""
        evidence = [i for i, v in enumerate(self.made) if v[2] > 1]
        hints = len(self.made) - len(evidence)
        found = [i for i in evidence if beyond(*self.made[i])]
        text = []
        if evidence:
            count = len(evidence)
            seeds = " or ".join(str(k) for k in sorted({self.made[i][2] for i in evidence}))
            kept = holm([p_value(*self.made[i][:2]) for i in evidence])
            dropped = [self.labels[i] for i, k in zip(evidence, kept) if i in found and not k]
            text.append(
                f"{count} verdict{'s' * (count != 1)} at {seeds} seeds, each at 95%: "
                f"{len(found)} beyond the noise. With no real difference, each would come out "
                f"beyond it by chance 5% of the time (about {0.05 * count:.2g} of {count}); "
                f"under Holm's correction for {count} comparison{'s' * (count != 1)}, "
                f"{sum(kept)} stay{'s' * (sum(kept) == 1)} beyond it"
                + (f" (not: {'; '.join(dropped)})" if dropped else "")
            )
        if hints:
            text.append(f"{hints} one-seed hint{'s' * (hints != 1)}, not evidence")
        return "; ".join(text) + "." if text else "no verdicts."
