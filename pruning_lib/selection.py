"""Masks from importance scores: exact-count selection, layer-wise or global.

A *score* is a non-negative number per weight: the larger, the more the weight matters.
Magnitude pruning is the score ``|w|``; any other method (activation-aware, random)
is another score, fed to the same selection (``torch.nn.utils.prune``'s
``importance_scores`` is the precedent). Masks are boolean tensors, True = kept.

The selection prunes exactly ``round(sparsity * n)`` weights with the lowest scores, per
weight (``scope="layer"``) or over all of them (``scope="global"``), with a two-pass radix
select that holds one layer's temporaries at a time: global pruning never copies every
score at once. Ties go deterministically to the weight that comes first (model order,
then row-major index). Already-pruned weights stay pruned and count toward the target.

Example:
    >>> import torch
    >>> w = torch.tensor([[0.1, -0.5], [2.0, -0.05]])
    >>> threshold_mask(w, 0.2)
    tensor([[False,  True],
            [ True, False]])
    >>> magnitude_masks({"w": w}, 0.25)["w"]
    tensor([[ True,  True],
            [ True, False]])
    >>> select_masks({"w": torch.tensor([[3.0, 1.0], [2.0, 4.0]])}, 0.5)["w"]
    tensor([[ True, False],
            [False,  True]])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

import torch

from .checks import check_fraction, check_number

Scope = Literal["layer", "global"]
SCOPES = ("layer", "global")
Of = Literal["all", "remaining"]  # what an amount to prune is a fraction of


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope={scope!r} is not allowed; choose 'layer' or 'global'")
    return scope


class MagnitudeScores(Mapping):
    """``|w|`` of each weight, computed when asked for (never all at once).

    Example:
        >>> import torch
        >>> MagnitudeScores({"w": torch.tensor([-2.0, 1.0])})["w"]
        tensor([2., 1.])
    """

    def __init__(self, weights: Mapping[str, torch.Tensor]):
        self.weights = weights

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.weights[name].detach().abs()

    def __iter__(self) -> Iterator[str]:
        return iter(self.weights)

    def __len__(self) -> int:
        return len(self.weights)


def threshold_mask(weight: torch.Tensor, threshold: float) -> torch.Tensor:
    """Keep the weights with ``|w| >= threshold``."""
    check_number("threshold", threshold, 0)
    return weight.detach().abs() >= threshold


def std_threshold(weight: torch.Tensor, q: float) -> float:
    """Han et al. (2015): the threshold is q times the standard deviation of the layer."""
    check_number("q", q, 0)
    return q * weight.detach().float().std().item()


def _keys(score: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Integer sort keys ordered as the score: the bits of a non-negative float32 are
    monotonic. Already-pruned weights get key 0, below every live weight, so a new mask
    never revives one. Live weights get their float bits + 1."""
    key = score.detach().float().view(torch.int32).to(torch.int64).add_(1)
    if keep is not None:
        key.masked_fill_(~keep.to(key.device), 0)
    return key.flatten()


def _kth_key(chunks: list[tuple[torch.Tensor, torch.Tensor | None]], k: int) -> tuple[int, int]:
    """The k-th smallest key (1-based) over all chunks, and how many keys lie below it.

    A two-pass radix select on the keys' high and low 16 bits: each pass reads every
    layer once and holds one layer's temporaries at a time.
    """
    high = None
    for score, keep in chunks:
        counts = torch.bincount(_keys(score, keep) >> 16, minlength=1 << 16)
        high = counts if high is None else high + counts
    cumulative = high.cumsum(0)
    top = int(torch.searchsorted(cumulative, torch.tensor(k)).item())
    below = int(cumulative[top - 1].item()) if top > 0 else 0
    low = None
    for score, keep in chunks:
        key = _keys(score, keep)
        selected = key[(key >> 16) == top] & 0xFFFF
        counts = torch.bincount(selected, minlength=1 << 16)
        low = counts if low is None else low + counts
    cumulative = low.cumsum(0)
    bottom = int(torch.searchsorted(cumulative, torch.tensor(k - below)).item())
    below += int(cumulative[bottom - 1].item()) if bottom > 0 else 0
    return (top << 16) | bottom, below


def check_score(name: str, score: torch.Tensor, shape: torch.Size | None = None) -> torch.Tensor:
    """The score as float32, refused unless finite and non-negative (and of ``shape``)."""
    if shape is not None and score.shape != shape:
        raise ValueError(
            f"score of {name} has shape {tuple(score.shape)}, its mask needs {tuple(shape)}"
        )
    score = score.detach().float()
    if not bool(torch.isfinite(score).all()) or bool((score < 0).any()):
        raise ValueError(f"score of {name} must be finite and non-negative everywhere")
    return score


def select_masks(
    scores: Mapping[str, torch.Tensor],
    amount: float,
    scope: Scope = "layer",
    masks: Mapping[str, torch.Tensor] | None = None,
    of: Of = "all",
) -> dict[str, torch.Tensor]:
    """Masks that prune the weights of lowest score, exactly ``round(amount * n)`` of the
    ``n`` weights ``amount`` is a fraction of.

    Args:
        scores: ``{name: non-negative score}`` (any Mapping; values are read when needed).
        amount: in [0, 1). With ``of="all"``, the sparsity to reach (cumulative: weights
            already pruned count toward it). With ``of="remaining"``, a pruning rate: the
            fraction of the weights still standing to remove, which compounds as
            ``torch.nn.utils.prune``'s ``amount`` does.
        scope: ``layer`` (each weight to its own target) or ``global`` (one target over all).
        masks: existing masks (True = kept): pruned weights stay pruned and count toward
            the target, so pruning again never loosens a mask.
        of: ``all`` or ``remaining``.

    Returns:
        ``{name: bool mask}`` for every name of ``scores``.
    """
    if of not in ("all", "remaining"):
        raise ValueError(f"of={of!r} is not allowed; choose 'all' (a sparsity) or 'remaining'")
    check_fraction("amount", amount)
    check_scope(scope)
    masks = masks or {}
    names = list(scores)
    groups = [[name] for name in names] if scope == "layer" else [names]
    result: dict[str, torch.Tensor] = {}
    for group in groups:
        chunks = []
        for name in group:
            keep = masks.get(name)
            score = check_score(name, scores[name], keep.shape if keep is not None else None)
            chunks.append((score, keep))
        total = sum(score.numel() for score, _ in chunks)
        already = sum(int((~keep).sum()) for _, keep in chunks if keep is not None)
        if of == "remaining":
            k = already + round(amount * (total - already))
        else:
            k = max(round(amount * total), already)  # round() as torch's prune does
        if k == 0:
            for name, (score, _) in zip(group, chunks):
                result[name] = torch.ones_like(score, dtype=torch.bool)
            continue
        threshold, below = _kth_key(chunks, k)
        ties_to_prune = k - below
        for name, (score, keep) in zip(group, chunks):
            key = _keys(score, keep)
            prune = key < threshold
            if ties_to_prune > 0:
                ties = (key == threshold).nonzero().flatten()[:ties_to_prune]
                prune[ties] = True
                ties_to_prune -= len(ties)
            result[name] = (~prune).view(score.shape)
    return result


def magnitude_masks(
    weights: Mapping[str, torch.Tensor],
    sparsity: float,
    scope: Scope = "layer",
    masks: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Masks that prune exactly ``round(sparsity * n)`` weights of smallest magnitude.

    :func:`select_masks` with the score ``|w|``; see there for ``scope`` and ``masks``.
    """
    check_fraction("sparsity", sparsity)
    return select_masks(MagnitudeScores(weights), sparsity, scope, masks)


def rate_to_sparsity(rate: float, iterations: int) -> float:
    """Sparsity after pruning ``rate`` of the remaining weights ``iterations`` times.

    Example:
        >>> round(rate_to_sparsity(0.1, 5), 5)
        0.40951
    """
    check_fraction("rate", rate)
    check_number("iterations", iterations, 0, integer=True)
    return 1 - (1 - rate) ** iterations


def sparsity_to_rate(sparsity: float, iterations: int) -> float:
    """The per-iteration rate that reaches ``sparsity`` in ``iterations`` prunings.

    Example:
        >>> round(sparsity_to_rate(0.40951, 5), 6)
        0.1
    """
    check_fraction("sparsity", sparsity)
    check_number("iterations", iterations, 1, integer=True)
    return 1 - (1 - sparsity) ** (1 / iterations)


def step_rate(previous_sparsity: float, target_sparsity: float) -> float:
    """The fraction of the remaining weights to prune to go from one sparsity to the next.

    Example:
        >>> round(step_rate(0.2, 0.6), 6)
        0.5
    """
    check_fraction("previous_sparsity", previous_sparsity)
    check_fraction("target_sparsity", target_sparsity)
    if target_sparsity < previous_sparsity:
        raise ValueError(
            f"target_sparsity={target_sparsity!r} is below previous_sparsity="
            f"{previous_sparsity!r}; allowed: [{previous_sparsity!r}, 1)"
        )
    return (target_sparsity - previous_sparsity) / (1 - previous_sparsity)
