"""Patterns: which weights may be pruned together, applied to any importance score.

Unstructured selection (``selection.select_masks``) may prune any weight. A pattern
constrains the choice, and is the same selection done within groups:

- :class:`NM` (semi-structured, e.g. 2:4): in every group of ``m`` consecutive weights along
  the input dimension, keep the ``n`` with the highest scores. This is the layout NVIDIA's
  sparse tensor cores and ``torch.sparse.to_sparse_semi_structured`` accept.
- :class:`RowWise`: the same fraction of every output row, the comparison group of Wanda;
- :class:`Units` (structured): whole output units (rows of the out x in matrix: neurons) or
  whole input units, ranked by the sum of their scores, the same fraction in every weight.

A pattern sees every score and mask as an (out, in) matrix: rows are outputs, the input
dimension (the one a matmul reduces over) is the second. The :class:`~pruning_lib.prune.Pruner`
hands it weights that way (GPT-2's ``Conv1D`` stores (in, out): the Pruner transposes).
Already-pruned weights stay pruned (a pattern never revives a weight); they count toward
the group's pruned weights. Ties go to the weight that comes first.

Example:
    >>> import torch
    >>> scores = {"w": torch.tensor([[4.0, 1.0, 3.0, 2.0], [1.0, 1.0, 2.0, 2.0]])}
    >>> NM(2, 4).masks(scores)["w"].int().tolist()
    [[1, 0, 1, 0], [0, 0, 1, 1]]
    >>> Units(0.5, "output").masks(scores)["w"].int().tolist()
    [[1, 1, 1, 1], [0, 0, 0, 0]]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch

from .checks import check_fraction, check_number
from .selection import check_score, select_masks


def _rows(
    name: str, scores: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A weight's score, checked, and its earlier mask (or None), both (out, in)."""
    score = scores[name]
    if score.ndim != 2:
        raise ValueError(
            f"{name}: a pattern applies to 2-D weights, not shape {tuple(score.shape)}"
        )
    score = check_score(name, score)
    keep = masks.get(name)
    return score, None if keep is None else keep.to(score.device)


def _ranked(score: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Scores in which earlier-pruned weights rank below every live one (-1)."""
    key = score.clone()
    if keep is not None:
        key[~keep] = -1.0
    return key


@dataclass(frozen=True)
class NM:
    """Keep ``n`` of every ``m`` consecutive weights along the input dimension (2:4, 4:8...).

    Sparsity ``1 - n / m`` in every group. ``m`` must divide each weight's input dimension;
    that is checked for every weight before any mask is made.
    """

    n: int
    m: int

    def __post_init__(self) -> None:
        check_number("m", self.m, 2, 1024, integer=True)
        check_number("n", self.n, 1, self.m - 1, integer=True)

    @property
    def sparsity(self) -> float:
        return 1 - self.n / self.m

    def check_shapes(self, shapes: Mapping[str, torch.Size]) -> None:
        """Refuse, before any mask is made, a weight whose input dimension ``m`` does not
        divide."""
        for name, shape in shapes.items():
            if len(shape) != 2:
                raise ValueError(f"{name}: N:M applies to 2-D weights, not shape {tuple(shape)}")
            width = shape[1]
            if width % self.m:
                raise ValueError(
                    f"{self.n}:{self.m} needs m={self.m} to divide the input dimension of every "
                    f"weight; {name} has {width} inputs"
                )

    def masks(
        self, scores: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """``{name: bool mask}`` keeping at most ``n`` weights in every group of ``m``."""
        masks = masks or {}
        self.check_shapes({k: v.shape for k, v in scores.items()})
        result = {}
        for name in scores:
            key = _ranked(*_rows(name, scores, masks))
            rows, width = key.shape
            groups = key.reshape(rows, width // self.m, self.m)
            order = torch.sort(groups, dim=-1, descending=True, stable=True).indices
            kept = torch.zeros_like(groups, dtype=torch.bool)
            kept.scatter_(-1, order[..., : self.n], True)
            kept &= groups >= 0  # a pruned weight among the top n stays pruned
            result[name] = kept.reshape(rows, width)
        return result


@dataclass(frozen=True)
class Units:
    """Prune whole units: output rows (neurons) or input columns, by their summed score.

    ``fraction`` of the units of every weight go (exact count, ``round(fraction * units)``);
    a unit already pruned in full counts toward it.
    """

    fraction: float
    axis: Literal["output", "input"] = "output"

    def __post_init__(self) -> None:
        check_fraction("fraction", self.fraction)
        if self.axis not in ("output", "input"):
            raise ValueError(f"axis={self.axis!r} is not allowed; choose 'output' or 'input'")

    def masks(
        self, scores: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """``{name: bool mask}`` with whole units kept or pruned."""
        masks = masks or {}
        result = {}
        for name in scores:
            score, keep_rows = _rows(name, scores, masks)
            dim = 1 if self.axis == "output" else 0  # summed over: a row's inputs, or a column
            unit_scores = score.sum(dim)
            unit_keep = None if keep_rows is None else keep_rows.any(dim)
            chosen = select_masks(
                {name: unit_scores},
                self.fraction,
                "layer",
                {name: unit_keep} if unit_keep is not None else None,
            )[name]
            full = chosen[:, None] if self.axis == "output" else chosen[None, :]
            mask = full.expand_as(score).clone()
            if keep_rows is not None:
                mask &= keep_rows
            result[name] = mask
        return result


@dataclass(frozen=True)
class RowWise:
    """Prune the same fraction of every output row (Wanda compares scores within a row).

    Each row of the out x in matrix loses ``round(sparsity * in)`` weights of lowest score,
    counting the ones already pruned (never fewer).
    """

    sparsity: float

    def __post_init__(self) -> None:
        check_fraction("sparsity", self.sparsity)

    def masks(
        self, scores: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """``{name: bool mask}`` with exactly ``round(sparsity * in)`` pruned in every row."""
        masks = masks or {}
        result = {}
        for name in scores:
            key = _ranked(*_rows(name, scores, masks))
            rows, width = key.shape
            k = round(self.sparsity * width)
            order = torch.sort(key, dim=-1, stable=True).indices  # lowest first
            pruned = torch.zeros_like(key, dtype=torch.bool)
            pruned.scatter_(-1, order[:, :k], True)
            pruned |= key < 0  # earlier pruning stays
            result[name] = ~pruned
        return result


def parse_pattern(pattern: str) -> NM | None:
    """``"unstructured"`` (None: any weight may go) or ``"N:M"`` such as ``"2:4"``.

    Example:
        >>> parse_pattern("2:4"), parse_pattern("unstructured")
        (NM(n=2, m=4), None)
        >>> parse_pattern("2-4")
        Traceback (most recent call last):
        ...
        ValueError: pattern='2-4' is not allowed; choose 'unstructured' or 'N:M' ...
    """
    if pattern == "unstructured":
        return None
    match = re.fullmatch(r"(\d+):(\d+)", pattern) if isinstance(pattern, str) else None
    if not match or not 0 < int(match[1]) < int(match[2]) <= 1024:
        raise ValueError(
            f"pattern={pattern!r} is not allowed; choose 'unstructured' or 'N:M' with "
            "0 < N < M <= 1024 (e.g. '2:4')"
        )
    return NM(int(match[1]), int(match[2]))
