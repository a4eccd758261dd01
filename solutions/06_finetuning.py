"""Reference solutions of notebook 06's exercises (06_finetuning)."""

import math

import torch


def paired_noise(a, b):
    """The 95% half-width of mean(a) - mean(b) on the same items (exercise 04.3)."""
    diffs = [int(x) - int(y) for x, y in zip(a, b)] + [1, -1]
    n = len(diffs)
    centre = sum(diffs) / n
    sd = math.sqrt(sum((x - centre) ** 2 for x in diffs) / (n - 1))
    return 1.959963984540054 * sd / math.sqrt(n)


def qa_difference(a, b):
    """Exercise 1: mean QA of a minus b, and its noise paired task by task."""
    tasks = list(a)
    score = lambda outcomes: outcomes.count("1") / len(outcomes)
    difference = sum(score(a[t]) - score(b[t]) for t in tasks) / len(tasks)
    noise = math.sqrt(sum(paired_noise(a[t], b[t]) ** 2 for t in tasks)) / len(tasks)
    return difference, noise


def masked_step(weight, mask, optimizer):
    """Exercise 2: one optimizer step that keeps the pruned weights at zero."""
    weight.grad.mul_(mask)  # no gradient for the pruned weights
    optimizer.step()
    with torch.no_grad():
        weight.mul_(mask)  # AdamW's moments still move them: zero them again


def half_gain_step(steps, scores):
    """Exercise 3: the first step by which half of the curve's gain is won."""
    half = (scores[-1] - scores[0]) / 2
    return next(step for step, score in zip(steps, scores) if score - scores[0] >= half)
