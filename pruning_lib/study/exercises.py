"""Checks for the notebooks' exercises: one ``check_*`` function per exercise.

Each exercise ends with a stub the student fills, e.g. ``def cubic_sparsity(t, s_i, s_f, T):
...``, and its check, ``check_cubic_schedule(cubic_sparsity)``. A check calls the student's
function on small inputs it builds itself (well under a second: no training, no evaluation)
and compares the answers with an independent reference: the library's own function,
``torch.nn.utils.prune``, torch's FLOP counter, a model built by transformers, or a formula.
The reference solutions are in ``solutions/`` at the repository root.

Every check returns None: it prints one ``correct: ...`` line when all answers agree, and
raises ``AssertionError`` with the first wrong answer and the expected one otherwise (an
untouched stub, which returns None or raises ``NotImplementedError``, fails too).

Example:
    >>> check_cubic_schedule(lambda t, s_i, s_f, T: s_f + (s_i - s_f) * (1 - t / T) ** 3)
    correct: the cubic schedule's sparsity matches on all 16 cases
    >>> check_cubic_schedule(lambda t, s_i, s_f, T: s_f + (s_i - s_f) * (1 - t / T) ** 2)
    Traceback (most recent call last):
    ...
    AssertionError: the cubic schedule's sparsity of (10, 0.0, 0.5, 60): yours 0.152..., ...
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from statistics import mean
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from ..efficiency import parameter_counts, size_report, sparse_encode
from ..evaluation.tasks import CORRECT
from ..patterns import NM, RowWise
from ..prune import Pruner, prunable_weights
from ..regularization import L1Penalty, ProximalL1
from ..schedules import Schedule
from ..selection import magnitude_masks, threshold_mask
from ..training.recipes import round_steps
from .records import retention
from .uncertainty import paired, paired_item_term, paired_items, summarize

Tensor = torch.Tensor
QA = ("nq_open", "web_questions", "trivia_qa")
# Intervals: a student may take t and z quantiles from scipy (3.18245) or use 1.96 where the
# library's table says 3.182 and 1.959964; answers a thousandth apart are the same answer.
INTERVAL_TOL = 1e-3


def _call(mine: Callable, *args: Any) -> Any:
    """``mine(*args)``; a stub that raises ``NotImplementedError`` fails with a hint."""
    try:
        return mine(*args)
    except NotImplementedError:
        raise AssertionError(f"{_name(mine)} is not written yet: replace its body") from None


def _answer(mine: Callable, *args: Any) -> Any:
    """``mine(*args)``, which must return an answer (an untouched stub returns None)."""
    value = _call(mine, *args)
    assert value is not None, f"{_name(mine)} returned None: write its body and return the answer"
    return value


def _name(mine: Callable) -> str:
    return getattr(mine, "__name__", "your function")


def _same(got: Any, want: Any, tol: float) -> bool:
    """Whether ``got`` equals ``want`` within ``tol`` (tensors, dicts, sequences, numbers)."""
    if isinstance(want, Tensor):
        if not isinstance(got, Tensor) or got.shape != want.shape:
            return False
        if want.dtype == torch.bool:
            return got.dtype == torch.bool and torch.equal(got, want)
        return torch.allclose(got.double(), want.double(), rtol=0, atol=tol) and torch.equal(
            got == 0, want == 0
        )  # exact zeros where the reference has them, nowhere else
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(
            _same(got[k], want[k], tol) for k in want
        )  # fmt: skip
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(
            _same(g, w, tol) for g, w in zip(got, want)
        )  # fmt: skip
    try:
        return abs(float(got) - float(want)) <= tol
    except (TypeError, ValueError):
        return False


def _show(value: Any) -> str:
    """A short text of an answer: small tensors and sequences in full, large ones by shape."""
    if isinstance(value, Tensor):
        if value.numel() <= 12:
            return repr(value.tolist())
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_show(v) for v in value)
        text = f"[{inner}]" if isinstance(value, list) else f"({inner})"
    else:
        text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _differ(got: Any, want: Any) -> str:
    """How many entries of a mask (or of each mask of a dict) differ from the expected."""
    pairs = [(None, got, want)]
    if isinstance(got, dict) and isinstance(want, dict):
        pairs = [(k, got.get(k), v) for k, v in want.items()]
    counts = [
        f"{'' if k is None else f'{k}: '}{int((g != w).sum())} of {w.numel()}"
        for k, g, w in pairs
        if isinstance(g, Tensor) and isinstance(w, Tensor) and g.shape == w.shape
    ]
    return f" (entries that differ: {', '.join(counts)})" if counts else ""


def _compare(mine: Callable, reference: Callable, cases: list, what: str, tol=1e-9) -> None:
    """Check ``mine(*case) == reference(*case)`` for every case; say ``correct`` at the end."""
    for case in cases:
        got, want = _answer(mine, *case), reference(*case)
        assert _same(got, want, tol), (
            f"{what} of {_show(case)}: yours {_show(got)}, expected {_show(want)}"
            + _differ(got, want)
        )
    print(f"correct: {what} matches on all {len(cases)} cases")


def _rand(*shape: int, seed: int = 0) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _outcomes(n: int, p: float, seed: int) -> str:
    """``n`` item outcomes, ``1`` (right) with probability ``p``."""
    draws = torch.rand(n, generator=torch.Generator().manual_seed(seed)) < p
    return "".join("1" if x else "0" for x in draws.tolist())


def _frac(outcomes: str) -> float:
    return outcomes.count("1") / len(outcomes)


def _gpt2(d: int, layers: int, inner: int | None = None, vocab: int = 50, positions: int = 16):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        n_embd=d, n_layer=layers, n_head=4, n_inner=inner, vocab_size=vocab, n_positions=positions,
        bos_token_id=0, eos_token_id=0, attn_implementation="eager",
    )  # fmt: skip
    return GPT2LMHeadModel(config).eval()


def _macs(run: Callable[[], Any]) -> int:
    """Multiply-adds of the matmuls ``run()`` calls, by torch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        run()
    return counter.get_total_flops() // 2


def check_parameter_count(mine: Callable[[int, int, int, int], int]) -> None:
    """01.1: a GPT-2's parameters by hand, against a GPT-2 that transformers builds.

    Args:
        mine: ``mine(d, layers, vocab, positions)``, the parameter count of a GPT-2 of width
            ``d`` (MLP width 4d, input and output embeddings tied).
    """
    cases = [(8, 1, 50, 16), (16, 2, 97, 32), (12, 3, 64, 20)]
    count = lambda *case: parameter_counts(_gpt2(case[0], case[1], None, *case[2:]))["total"]
    _compare(mine, count, cases, "the parameter count", 0)


def check_prune_smallest(mine: Callable[[Tensor, float], Tensor]) -> None:
    """01.2: the mask magnitude pruning gives one vector, ties included.

    Args:
        mine: ``mine(magnitudes, sparsity)``, a bool mask (True = kept) that prunes exactly
            ``round(sparsity * n)`` of the smallest; ties go to the weight that comes first.
    """
    tied = torch.tensor([0.2, 0.1, 0.2, 0.3, 0.2, 0.05, 0.2])
    cases = [(_rand(101).abs(), 0.5), (_rand(7).abs(), 0.5), (tied, 0.5), (_rand(40).abs(), 0.9)]
    _compare(mine, lambda m, s: magnitude_masks({"w": m}, s)["w"], cases, "the mask")


def check_seed_interval(mine: Callable[[Sequence[float], int], tuple[float, float]]) -> None:
    """01.3: the 95% interval of 07_results of a score over seeds.

    Args:
        mine: ``mine(values, n_items)``, ``(low, high)`` of the mean of ``values`` (one score
            per seed, each a fraction of ``n_items`` items), kept within [0, 1].
    """
    cases = [([0.6, 0.64, 0.62], 200), ([0.3, 0.5, 0.4, 0.45], 100), ([0.98, 1.0], 50), ([0.5], 80)]
    interval = lambda v, n: (summarize(v, n)["ci_low"], summarize(v, n)["ci_high"])
    _compare(mine, interval, cases, "the interval", tol=INTERVAL_TOL)


def check_threshold_for_sparsity(mine: Callable[[Tensor, float], float]) -> None:
    """02.1: the threshold that prunes a given fraction.

    Args:
        mine: ``mine(magnitudes, sparsity)``, a threshold ``t``: pruning every ``|w| < t``
            (``threshold_mask``) prunes ``sparsity`` of ``magnitudes``, within one weight.
    """
    for n, s in ((1000, 0.5), (999, 0.5), (1000, 0.25), (400, 0.9)):
        magnitudes = _rand(n, seed=n).abs()
        t = float(_answer(mine, magnitudes, s))
        got = 1 - threshold_mask(magnitudes, t).float().mean().item()
        assert abs(got - s) <= 1 / n + 1e-9, f"t={t:.6g} prunes {got:.4f} of {n} weights, not {s}"
    print("correct: each threshold prunes its sparsity on all 4 cases")


def check_layerwise_masks(mine: Callable[[dict[str, Tensor], float], dict[str, Tensor]]) -> None:
    """02.2: layer-wise magnitude pruning in plain PyTorch, against ``torch.nn.utils.prune``.

    Args:
        mine: ``mine(weights, sparsity)``, ``{name: bool mask}`` (True = kept) pruning
            ``round(sparsity * w.numel())`` of the smallest |w| of every matrix.
    """
    weights = {"a": _rand(8, 6, seed=1), "b": _rand(5, 7, seed=2), "c": _rand(16, 3, seed=3)}
    torch_masks = lambda ws, s: {
        n: prune.L1Unstructured(s).compute_mask(w, torch.ones_like(w)).bool() for n, w in ws.items()
    }  # fmt: skip
    _compare(mine, torch_masks, [(weights, 0.3), (weights, 0.5)], "the masks")


def check_sparsity_without_attention(mine: Callable[[int, int, float], float]) -> None:
    """02.3: excluding attention (``exclude=[r"\\.attn\\."]``): the sparsity of all matrices.

    Args:
        mine: ``mine(d, m, sparsity)``, the sparsity of all attention and MLP matrices of a
            GPT-2 (width ``d``, MLP width ``m``) when only its MLP matrices are pruned.
    """

    def measured(d: int, m: int, s: float) -> float:
        lm = _gpt2(d, 2, m)
        Pruner(lm, exclude=[r"\.attn\."]).prune(s)
        return parameter_counts(lm, prunable_weights(lm))["sparsity"]

    _compare(mine, measured, [(8, 32, 0.5), (16, 32, 0.25), (8, 16, 0.5)], "the sparsity")


def check_iterative_trace(mine: Callable[[float, int, int], list[tuple[int, float]]]) -> None:
    """03.1: when the iterative run prunes, and to which sparsity.

    Args:
        mine: ``mine(sparsity, iterations, steps)``, ``[(step, sparsity after it)]`` for each
            round: the same rate of what stands, at the first step of each of ``iterations``
            rounds that share ``steps`` (earlier rounds get the remainder).
    """
    trace = lambda s, n, steps: [
        (start, 1 - (1 - s) ** (i / n)) for i, start in enumerate(round_steps(steps, n), 1)
    ]  # fmt: skip
    _compare(mine, trace, [(0.5, 5, 150), (0.5, 1, 150), (0.9, 4, 10)], "the trace")


def check_rate_per_round(mine: Callable[[float, int], float]) -> None:
    """03.2: the rate per round that reaches a sparsity in a number of rounds.

    Args:
        mine: ``mine(sparsity, rounds)``, the fraction of the remaining weights to prune in
            each round.
    """
    cases = [(0.5, 5), (0.9, 3), (0.5, 1), (0.75, 2)]
    _compare(mine, lambda s, n: 1 - (1 - s) ** (1 / n), cases, "the rate")


def check_global_layer_sparsity(mine: Callable[[dict[str, Tensor], float], dict]) -> None:
    """03.3: the sparsity global pruning gives each matrix, against ``torch.nn.utils.prune``.

    Args:
        mine: ``mine(weights, sparsity)``, ``{name: sparsity of that matrix}`` when
            ``sparsity`` of all the weights together are pruned by one |w| cut-off.
    """

    def by_torch(weights: dict[str, Tensor], s: float) -> dict[str, float]:
        holders = {name: nn.Module() for name in weights}
        for name, holder in holders.items():
            holder.weight = nn.Parameter(weights[name].clone())
        pairs = [(holder, "weight") for holder in holders.values()]
        prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=s)
        return {name: 1 - h.weight_mask.mean().item() for name, h in holders.items()}

    weights = {"h0.attn": 0.5 * _rand(8, 8, seed=1), "h0.mlp": _rand(8, 32, seed=2)}
    weights["h1.mlp"] = 0.2 * _rand(32, 8, seed=3)
    _compare(mine, by_torch, [(weights, 0.5), (weights, 0.7)], "the sparsities")


def check_pruning_steps(mine: Callable[[int, int, int], list[int]]) -> None:
    """04.1: the steps at which a schedule prunes, against ``Schedule.pruning_steps``.

    Args:
        mine: ``mine(begin, end, frequency)``, every pruning step; the last is ``end``.
    """
    steps = lambda b, e, f: Schedule("cubic", 0.0, 0.5, b, e, f).pruning_steps()
    cases = [(0, 60, 10), (0, 60, 7), (5, 23, 4), (0, 10, 3), (0, 5, 10)]
    _compare(mine, steps, cases, "the pruning steps", 0)


def check_cubic_schedule(mine: Callable[[int, float, float, int], float]) -> None:
    """04.2: the cubic schedule by hand, against ``Schedule("cubic")`` at its pruning steps.

    Args:
        mine: ``mine(t, s_i, s_f, T)``, the sparsity at step ``t`` (begin step 0, end ``T``).
    """
    runs = ((0.0, 0.5, 60, 10), (0.1, 0.9, 50, 7))
    cases = [
        (t, *r[:3]) for r in runs for t in Schedule("cubic", *r[:2], 0, *r[2:]).pruning_steps()
    ]
    at = lambda t, s_i, s_f, end: Schedule("cubic", s_i, s_f, 0, end, 1).sparsity_at(t)
    _compare(mine, at, cases, "the cubic schedule's sparsity")


def check_paired_noise(mine: Callable[[str, str], float]) -> None:
    """04.3: the noise of the difference of two runs on the same items (one seed).

    Args:
        mine: ``mine(a, b)``, the 95% half-width of ``mean(a) - mean(b)`` for two strings of
            item outcomes (``"1"`` right), as ``uncertainty.paired_item_term`` defines it.
    """
    x = _outcomes(200, 0.4, 1)
    cases = [("1100", "1000"), (x, _outcomes(200, 0.35, 2)), (x, x)]
    _compare(mine, lambda a, b: paired_item_term([a], [b]), cases, "the noise", tol=INTERVAL_TOL)


def check_sparsity_from_histogram(mine: Callable[[list, list, float], float]) -> None:
    """05.1: the sparsity a threshold gives, read off a |w| histogram (the notebook's).

    Args:
        mine: ``mine(counts, edges, threshold)``, the fraction of the weights with |w| below
            ``threshold``: exact at a bin edge (``edges[j]``), within the bin inside one.
    """
    w = 0.05 * _rand(4000, seed=5).abs()
    histogram = torch.histogram(w.clamp(max=0.3), bins=30, range=(0.0, 0.3))
    counts, edges = histogram.hist.tolist(), histogram.bin_edges.tolist()
    below = lambda t: int((w < t).sum()) / w.numel()
    for t in (edges[1], edges[5], edges[10], edges[30], 0.015, 0.047):
        got = float(_answer(mine, counts, edges, t))
        low = below(max(e for e in edges if e <= t))
        high = below(min(e for e in edges if e >= t))
        assert low - 1e-9 <= got <= high + 1e-9, f"at {t}: yours {got}, true {below(t)}"
    print("correct: the sparsity at each threshold matches on all 6 cases")


def check_soft_threshold(mine: Callable[[Tensor, float], Tensor]) -> None:
    """05.2: the soft threshold by hand, against ``ProximalL1``.

    Args:
        mine: ``mine(w, t)``, every weight moved toward zero by ``t``, stopping at zero.
    """

    def proximal(w: Tensor, t: float) -> Tensor:
        weight = nn.Parameter(w.clone())
        ProximalL1({"w": weight}, lam=t, step_size=1.0).after_step(0)
        return weight.detach()

    cases = [(_rand(8, 8), 0.05), (0.1 * _rand(4, 4), 0.5), (torch.tensor([0.5, -0.05, 0.2]), 0.1)]
    _compare(mine, proximal, cases, "the soft threshold", 1e-6)


def check_balancing_lambda(mine: Callable[[list[Tensor], float], float]) -> None:
    """05.3: the λ whose penalty λ·Σ|w| equals the loss, against ``L1Penalty``.

    Args:
        mine: ``mine(weights, loss)``, that λ for the tensors ``weights``.
    """
    for weights, loss in (([_rand(8, 8), _rand(8, 4)], 4.2), ([0.01 * _rand(64, 64)], 2.0)):
        lam = float(_answer(mine, weights, loss))
        penalty = float(L1Penalty({str(i): w for i, w in enumerate(weights)}, lam).penalty(None))
        assert abs(penalty - loss) <= 1e-5 * loss, (
            f"lambda={lam:.6g} gives {penalty:.6g}, not {loss}"
        )
    print("correct: each lambda's penalty equals the loss on all 2 cases")


def check_qa_difference(mine: Callable[[dict[str, str], dict[str, str]], tuple]) -> None:
    """06.1: the mean QA difference of two runs and its noise, as the summaries judge it.

    Args:
        mine: ``mine(a, b)``, ``(difference, noise)``: the mean over the three QA tasks of
            a's score minus b's (``{task: outcomes}``), and its 95% half-width, each task's
            paired item term (exercise 04.3) combined as ``sqrt(sum of squares) / 3``.
    """

    def summary(a: dict[str, str], b: dict[str, str]) -> tuple[float, float]:
        parts = [{"parts": [{CORRECT: [run[t]]} for t in QA]} for run in (a, b)]
        return mean(_frac(a[t]) - _frac(b[t]) for t in QA), paired_items(*parts)

    a = {t: _outcomes(60 + 20 * i, 0.5, i) for i, t in enumerate(QA)}
    b = {t: _outcomes(60 + 20 * i, 0.4, 10 + i) for i, t in enumerate(QA)}
    _compare(
        mine,
        summary,
        [(a, b), (a, {**a, "nq_open": b["nq_open"]})],
        "(difference, noise)",
        tol=INTERVAL_TOL,
    )


def check_masked_step(mine: Callable[[nn.Parameter, Tensor, torch.optim.Optimizer], None]) -> None:
    """06.2: an optimizer step that keeps the pruned weights at zero under AdamW.

    Args:
        mine: ``mine(weight, mask, optimizer)``, called after ``backward()``: it steps the
            optimizer, and every weight where ``mask`` is False must stay exactly zero.
    """
    target = _rand(6, 6, seed=8)
    weights = [nn.Parameter(_rand(6, 6, seed=7)) for _ in range(2)]  # yours, the reference
    optimizers = [torch.optim.AdamW([w], lr=0.05) for w in weights]

    def backward(k: int) -> None:
        optimizers[k].zero_grad()
        ((weights[k] - target) ** 2).sum().backward()

    for k in (0, 1):  # dense steps first: AdamW's moments would move pruned weights
        for _ in range(3):
            backward(k)
            optimizers[k].step()
    mask = weights[1].detach().abs() > weights[1].detach().abs().median()
    with torch.no_grad():
        for weight in weights:
            weight.mul_(mask)
    for step in range(1, 6):
        backward(0)
        _call(mine, weights[0], mask, optimizers[0])
        backward(1)
        weights[1].grad.mul_(mask)
        optimizers[1].step()
        with torch.no_grad():
            weights[1].mul_(mask)
        yours = weights[0].detach()
        assert bool((yours[~mask] == 0).all()), (
            f"after step {step}, pruned weights are non-zero: AdamW's running averages moved them"
        )
        assert torch.allclose(yours, weights[1].detach()), (
            f"after step {step}, the kept weights differ from one AdamW step's"
        )
    print("correct: 5 masked AdamW steps, pruned weights exactly zero")


def check_half_gain_step(mine: Callable[[list[int], list[float]], int]) -> None:
    """06.3: the first step by which a recovery curve has won half of its gain.

    Args:
        mine: ``mine(steps, scores)``, the first step whose score minus the first score is at
            least half of the last minus the first (the curve gains).
    """
    half = lambda steps, v: next(s for s, x in zip(steps, v) if x - v[0] >= (v[-1] - v[0]) / 2)
    steps = [0, 1, 2, 5, 10, 20, 50]
    cases = [
        (steps, [0.1, 0.12, 0.2, 0.3, 0.35, 0.4, 0.42]),
        (steps, [0.2, 0.5, 0.3, 0.3, 0.3, 0.3, 0.6]),
        (steps, [0.4, 0.45, 0.5, 0.6, 0.62, 0.7, 0.8]),
    ]
    _compare(mine, half, cases, "the step", 0)


def check_retention_by_seed(mine: Callable[[list[float], list[float]], float]) -> None:
    """07.1: retention seed by seed, against ``records.retention``.

    Args:
        mine: ``mine(pruned_values, dense_values)``, the mean over seeds of each seed's
            pruned score over its own dense score.
    """

    def by_records(pruned: list[float], dense: list[float]) -> float:
        keys = {"task": "nq_open", "metric": "exact_match", "item_half": 0.0}
        records = [
            {**keys, "variant": v, "sparsity": s, "values": x, "mean": mean(x)}
            for v, s, x in (("one-shot", 0.5, pruned), ("dense", 0.0, dense))
        ]
        return retention(records, "one-shot", 0.5, "nq_open", "dense")[0]

    cases = [([0.3, 0.32, 0.28, 0.31], [0.6, 0.62, 0.58, 0.61]), ([0.05, 0.3], [0.01, 0.6])]
    _compare(mine, by_records, cases, "the retention")


def check_paired_fall(mine: Callable[[list[float], list[float]], tuple[float, float]]) -> None:
    """07.2: a fall paired by seed and its seed term (zero with one seed).

    Args:
        mine: ``mine(dense, pruned)``, ``(fall, half_width)``: the mean of the per-seed
            differences and their 95% t interval's half-width over seeds (0 for one seed).
    """
    no_items = lambda v: {"values": v, "item_half": 0.0}
    cases = [
        ([0.6, 0.62, 0.58, 0.61], [0.55, 0.6, 0.57, 0.58]),
        ([0.5, 0.4, 0.45], [0.4, 0.41, 0.44]),
    ]
    cases.append(([0.5], [0.48]))
    _compare(
        mine,
        lambda d, p: paired(no_items(d), no_items(p)),
        cases,
        "(fall, half-width)",
        tol=INTERVAL_TOL,
    )


def check_fall_slopes(mine: Callable[[list[float], list[float]], list[float]]) -> None:
    """07.3: how steep the fall is between each pair of sparsities.

    Args:
        mine: ``mine(sparsities, scores)``, for each pair of neighbours the fall of the score
            per unit of sparsity (a steepening fall: growing slopes).
    """
    slopes = lambda s, v: (-np.diff(v) / np.diff(s)).tolist()
    cases = [([0.0, 0.1, 0.3, 0.5, 0.7], [0.6, 0.6, 0.55, 0.4, 0.1]), ([0.0, 0.5], [0.5, 0.6])]
    _compare(mine, slopes, cases, "the slopes")


def check_bitmask_bytes(mine: Callable[[int, int, int], int]) -> None:
    """08.1: the bytes of the bitmask + values encoding, against ``efficiency.sparse_encode``.

    Args:
        mine: ``mine(numel, nonzero, element_size)``, the bytes of one matrix encoded.
    """
    tensors = [_rand(7, 5), _rand(16, 16).half(), torch.zeros(9), _rand(3, 8).double()]
    tensors = [t * (t.abs() > 0.7) for t in tensors]
    encoded = {(t.numel(), int(t.count_nonzero()), t.element_size()): t for t in tensors}

    def size(*key: int) -> int:
        bits, values = sparse_encode(encoded[key])
        return bits.numel() + values.numel() * values.element_size()

    _compare(mine, size, list(encoded), "the bytes", 0)


def check_sparsity_for_size(mine: Callable[[float, int], float]) -> None:
    """08.2: the sparsity at which the encoding takes a given share of the dense bytes.

    Args:
        mine: ``mine(ratio, bits)``, the sparsity at which bitmask + values of ``bits``-bit
            numbers take ``ratio`` of the dense bytes, checked with ``size_report``.
    """
    for ratio, bits in ((0.5, 32), (0.5, 16), (0.25, 32)):
        s = float(_answer(mine, ratio, bits))
        w = _rand(4096, seed=bits).to(torch.float32 if bits == 32 else torch.float16)
        sizes = size_report(nn.Module(), {"w": w * magnitude_masks({"w": w}, s)["w"]})
        got = sizes["prunable_sparse_bytes"] / sizes["prunable_dense_bytes"]
        assert abs(got - ratio) <= 2 / 4096, f"at sparsity {s} the bytes are {got:.4f}, not {ratio}"
    print("correct: the encoded bytes are the asked share on all 3 cases")


def check_matmul_macs(mine: Callable[[list[tuple[int, int]], int], int]) -> None:
    """08.3: the multiply-adds of dense matmuls with zeros, against torch's FLOP counter.

    Args:
        mine: ``mine(shapes, tokens)``, multiply-adds of ``x @ W.T`` for every (out, in)
            matrix in ``shapes`` on ``tokens`` tokens; dense kernels multiply zeros too.
    """

    def counted(shapes: list[tuple[int, int]], tokens: int) -> int:
        pruned = [w * (w.abs() > 0.7) for w in (_rand(*shape) for shape in shapes)]
        run = lambda: [nn.functional.linear(_rand(tokens, w.shape[1]), w) for w in pruned]
        return _macs(run)

    cases = [([(32, 16), (16, 32)], 16), ([(32, 16), (16, 32)], 512), ([(48, 8)], 1)]
    _compare(mine, counted, cases, "the multiply-adds", 0)


def check_nm_mask(mine: Callable[[Tensor, int, int], Tensor]) -> None:
    """09.1: an N:M mask by hand, against the library's ``NM`` pattern.

    Args:
        mine: ``mine(rows, n, m)``, a bool mask of the (out, in) matrix ``rows`` keeping the
            ``n`` largest |w| of every ``m`` consecutive inputs of each row.
    """
    cases = [
        (_rand(8, 16, seed=1), 4, 8),
        (_rand(6, 12, seed=2), 2, 4),
        (_rand(4, 9, seed=3), 1, 3),
    ]
    _compare(mine, lambda r, n, m: NM(n, m).masks({"w": r.abs()})["w"], cases, "the mask")


def check_wanda_mask(mine: Callable[[Tensor, Tensor, float], Tensor]) -> None:
    """09.2: Wanda's mask by hand, against the library's ``RowWise`` pattern.

    Args:
        mine: ``mine(rows, norms, sparsity)``, a bool mask of the (out, in) matrix ``rows``
            pruning ``round(sparsity * in)`` of the lowest ``|W_ij| * norms[j]`` in each row.
    """
    reference = lambda r, x, s: RowWise(s).masks({"w": r.abs() * x[None, :]})["w"]
    rows = _rand(8, 16, seed=1)
    cases = [(rows, _rand(16, seed=2).abs(), 0.5), (rows, torch.ones(16), 0.5)]
    cases.append((_rand(5, 12, seed=3), _rand(12, seed=4).abs(), 0.25))
    _compare(mine, reference, cases, "the mask")


def check_paired_interval(mine: Callable[[list[str], list[str]], tuple[float, float]]) -> None:
    """09.3: a paired difference over seeds and its whole interval, against ``paired``.

    Args:
        mine: ``mine(a, b)``, ``(difference, half_width)`` of two runs given as one outcome
            string per seed: the seed term and the item term (each item's difference
            averaged over the seeds) combined as the root of the sum of their squares.
    """
    record = lambda run: {"values": [_frac(x) for x in run], CORRECT: run}
    a = [_outcomes(120, 0.5, seed) for seed in range(3)]
    b = [_outcomes(120, 0.45, seed + 3) for seed in range(3)]
    cases = [(a, b), (a[:1], b[:1])]
    _compare(
        mine,
        lambda a, b: paired(record(a), record(b)),
        cases,
        "(difference, half-width)",
        tol=INTERVAL_TOL,
    )


def check_csr_breakeven(mine: Callable[[int, int, int, int], float]) -> None:
    """10.1: the sparsity at which CSR takes the dense bytes, checked on torch's CSR tensors.

    Args:
        mine: ``mine(rows, cols, value_bytes, index_bytes)``, that sparsity (values and
            column indices per kept weight, plus ``rows + 1`` row pointers).
    """
    dtypes = {2: torch.float16, 4: torch.float32, 8: torch.float64}
    for rows, cols, value, index in ((64, 64, 4, 4), (64, 64, 4, 8), (32, 128, 2, 4)):
        s = float(_answer(mine, rows, cols, value, index))
        kept = round((1 - s) * rows * cols)
        w = torch.zeros(rows * cols, dtype=dtypes[value])
        w[torch.randperm(rows * cols, generator=torch.Generator().manual_seed(0))[:kept]] = 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            csr = w.view(rows, cols).to_sparse_csr()
        int_type = torch.int32 if index == 4 else torch.int64
        parts = (csr.values(), csr.col_indices().to(int_type), csr.crow_indices().to(int_type))
        got = sum(t.numel() * t.element_size() for t in parts)
        assert abs(got - rows * cols * value) <= value + index, (
            f"at {s}: CSR {got} bytes, dense {rows * cols * value}"
        )
    print("correct: CSR takes the dense bytes at your sparsity on all 3 cases")


def check_block_macs(mine: Callable[[int, int, int], int]) -> None:
    """10.2: the multiply-adds of one GPT-2 block, against torch's FLOP counter.

    Args:
        mine: ``mine(T, d, m)``, those of a block of width ``d`` and MLP width ``m`` on
            ``T`` tokens.
    """

    def counted(tokens: int, d: int, m: int) -> int:
        block = _gpt2(d, 1, m, positions=tokens).transformer.h[0]
        return _macs(lambda: block(_rand(1, tokens, d)))

    _compare(mine, counted, [(8, 16, 64), (5, 8, 16), (16, 32, 48)], "the multiply-adds", 0)


ALLOCATION_SPARSITY = 0.7  # 03.4: uniform pruning here is beyond the cliff, with room to win
ALLOCATION_SEEDS = (0, 1, 2, 3)  # the main sweep's seeds: its uniform runs are the reference


def check_layer_allocation(mine: Callable[[dict, dict, float], dict[str, float]]) -> None:
    """03.4: per-layer sparsities from the sensitivity scan that beat uniform pruning at
    equal size by more than the noise, over the main sweep's seeds (the lab's exercise).

    Computes (or reads from the cache) the tutorial's scan at seed 0 and its uniform one-shot
    runs, then prunes the tutorial model with ``mine``'s allocation at every seed of
    :data:`ALLOCATION_SEEDS` (four evaluations; seeds whose baseline is not committed train
    it first, minutes each) and sets each seed against uniform pruning, paired seed by seed
    and item by item, mean of the six tasks.

    Args:
        mine: ``mine(falls, sizes, target)``: ``falls[name][s]`` the fall of the mean score
            with that weight alone at sparsity ``s`` (0.5, 0.7, 0.9), ``sizes[name]`` its
            number of weights; returns ``{name: sparsity}`` that prunes ``target`` of all the
            prunable weights in total (within 0.2%).
    """
    from . import plans
    from .experiment import Experiment
    from .notebook import mean_score, paired_qa
    from .parameters import Settings
    from .pool import compute
    from .uncertainty import beyond, verdict

    settings = Settings()
    experiment = Experiment(settings, progress=False)
    names = plans.layer_names(settings)
    scan_plan = {
        (n, s): plans.layer_alone(settings, n, s) for n in names for s in plans.SCAN_SPARSITIES
    }
    scan, dense = compute(experiment, [scan_plan, plans.dense(settings)])
    from .kinds import SCAN_ITEMS

    base = mean_score(dense["scores"], SCAN_ITEMS)
    falls = {n: {s: base - mean_score(scan[(n, s)]["scores"]) for s in plans.SCAN_SPARSITIES}
             for n in names}  # fmt: skip
    sizes = {n: w.numel() for n, w in Pruner(experiment.fresh_model()).weights.items()}
    target = ALLOCATION_SPARSITY
    allocation = _answer(mine, falls, dict(sizes), target)
    assert isinstance(allocation, dict) and set(allocation) == set(names), (
        f"{_name(mine)} must return {{name: sparsity}} for every prunable weight: {names}"
    )
    bad = {n: s for n, s in allocation.items() if not 0.0 <= float(s) < 1.0}
    assert not bad, f"sparsities must lie in [0, 1): {bad}"
    total = sum(float(allocation[n]) * sizes[n] for n in names) / sum(sizes.values())
    assert abs(total - target) <= 0.002, (
        f"not the same size: your allocation prunes {total:.4f} of the weights, uniform "
        f"pruning {target}; equal size is the point of the comparison"
    )
    ours = [plans.allocated(settings, allocation, seed) for seed in ALLOCATION_SEEDS]
    uniform = [plans.oneshot(settings, target, seed) for seed in ALLOCATION_SEEDS]
    ours, uniform = compute(experiment, [ours, uniform])
    tasks = tuple(dense["scores"])
    value, noise, seeds = paired_qa([r["scores"] for r in ours], [r["scores"] for r in uniform],
                                    tasks)  # fmt: skip
    sentence = verdict("yours − uniform (mean of six)", value, noise, seeds)
    assert value > 0 and beyond(value, noise, seeds), (
        f"{sentence}: not better than uniform pruning at {target} by more than the noise"
    )
    print(f"correct: {sentence}")


def check_reconstruct_row(mine: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """11.1: one row refitted after its mask, against ``torch.linalg.lstsq``.

    Args:
        mine: ``mine(X, w, keep)``: the row ``w`` (in,) with its kept weights (``keep``, a
            bool mask) set to the least-squares fit of ``X @ w`` from ``X[:, keep]``
            (``X``: tokens x in, float64), zeros elsewhere.
    """

    def reference(X: Tensor, w: Tensor, keep: Tensor) -> Tensor:
        out = torch.zeros_like(w)
        out[keep] = torch.linalg.lstsq(X[:, keep], X @ w).solution
        return out

    cases = []
    for seed, (tokens, inputs) in enumerate(((40, 8), (25, 6), (60, 12))):
        X = _rand(tokens, inputs, seed=seed).double()
        X[:, 0] += 0.8 * X[:, 1]  # correlated inputs: the refit moves the kept weights
        keep = _rand(inputs, seed=seed + 10) > 0
        keep[0] = True
        cases.append((X, _rand(inputs, seed=seed + 20).double(), keep))
    _compare(mine, reference, cases, "the refitted row", tol=1e-6)


def check_block_influence(mine: Callable[[Tensor, Tensor], float]) -> None:
    """11.2: ShortGPT's block influence from a block's input and output hidden states,
    against ``pruning_lib.blocks.block_influence`` on a GPT-2 that transformers builds.

    Args:
        mine: ``mine(x_in, x_out)`` of ``(batch, tokens, hidden)`` states: one minus the mean,
            over tokens, of the cosine similarity of each token's input and output.
    """
    from ..blocks import block_influence

    model = _gpt2(16, 3)
    ids = torch.randint(0, 50, (2, 10), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        states = model(input_ids=ids, output_hidden_states=True).hidden_states
    library = block_influence(model, [ids])
    for block in range(2):  # the last state HF returns is after the final norm
        got = _answer(mine, states[block], states[block + 1])
        assert _same(got, library[block], 1e-5), (
            f"the influence of block {block}: yours {_show(got)}, the library's "
            f"{library[block]:.6f}"
        )
    x, y = _rand(3, 5, 8, seed=1), _rand(3, 5, 8, seed=2)
    scaled = _answer(mine, x, 3.0 * x)  # a block that only scales its input changes nothing
    assert _same(scaled, 0.0, 1e-5), f"x against 3x: yours {_show(scaled)}, expected 0"
    want = 1 - float(torch.nn.functional.cosine_similarity(x, y, dim=-1).mean())
    got = _answer(mine, x, y)
    assert _same(got, want, 1e-5), f"random states: yours {_show(got)}, expected {want:.6f}"
    print("correct: the block influence matches on all 4 cases")


def check_set_drop(mine: Callable[[Tensor, Tensor, float], Tensor]) -> None:
    """11.3: SET's drop step: the mask after the ``round(fraction * kept)`` kept weights of
    smallest magnitude are dropped, against ``pruning_lib.sparse_training.SparseEvolution``
    (whose update then regrows as many at pruned places: its new mask, less those places).

    Args:
        mine: ``mine(weight, keep, fraction)``: ``keep`` the boolean mask (True: kept); returns
            the boolean mask with the dropped weights set to False.
    """
    from ..sparse_training import SparseEvolution

    cases = 0
    for seed, (shape, sparsity, fraction) in enumerate(
        [((4, 6), 0.5, 0.3), ((8, 8), 0.25, 0.25), ((5, 7), 0.75, 0.2)]
    ):
        layer = nn.Linear(shape[1], shape[0], bias=False)
        with torch.no_grad():
            layer.weight.copy_(_rand(*shape, seed=seed))
        pruner = Pruner(nn.Sequential(layer))
        pruner.prune(sparsity, scope="layer")
        keep = pruner.masks["0.weight"].clone()
        weight = layer.weight.detach().clone()  # zeros where pruned, as in training
        got = _answer(mine, weight.clone(), keep.clone(), fraction)
        SparseEvolution(pruner, fraction=fraction, seed=seed).update()
        want = pruner.masks["0.weight"] & keep  # kept before and after: not dropped
        assert _same(got, want, 0), (
            f"the mask after dropping {fraction:.0%} of the kept weights of a {shape} matrix "
            f"at sparsity {sparsity}: yours {_show(got)}, expected {_show(want)}"
        )
        cases += 1
    print(f"correct: SET's drop matches on all {cases} cases")
