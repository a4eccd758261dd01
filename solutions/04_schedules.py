"""Reference solutions of notebook 04's exercises (04_schedules)."""

import math


def pruning_steps(begin, end, frequency):
    """Exercise 1: every pruning step of a schedule; the last is the end step."""
    return list(range(begin, end, frequency)) + [end]


def cubic_sparsity(t, s_i, s_f, T):
    """Exercise 2: the cubic schedule s(t) = s_f + (s_i - s_f)(1 - t/T)^3."""
    return s_f + (s_i - s_f) * (1 - t / T) ** 3


def paired_noise(a, b):
    """Exercise 3: the 95% half-width of mean(a) - mean(b) on the same items."""
    diffs = [int(x) - int(y) for x, y in zip(a, b)] + [1, -1]  # one pseudo-item each way
    n = len(diffs)
    centre = sum(diffs) / n
    sd = math.sqrt(sum((x - centre) ** 2 for x in diffs) / (n - 1))
    return 1.959963984540054 * sd / math.sqrt(n)
