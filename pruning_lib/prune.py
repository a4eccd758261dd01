"""Magnitude pruning: which weights, threshold and rate masks, and the :class:`Pruner`.

Words (DESIGN.md): *sparsity* is the fraction of prunable weights that are zero,
cumulative. A *pruning rate* removes that fraction of the weights still standing, so
rate 0.1 five times gives sparsity 1 - 0.9**5 = 0.40951, as ``torch.nn.utils.prune``'s
``amount`` compounds.

Masks are boolean tensors (True = kept) owned by a :class:`Pruner`, which zeroes the
weights in place after every optimizer step and zeroes their gradients, so AdamW's
momentum cannot revive a pruned weight. There are no forward hooks and no
``weight_orig`` keys: ``state_dict`` and ``save_pretrained`` stay standard, and masks
are saved beside the model as safetensors.

Example:
    >>> import torch
    >>> w = torch.tensor([[0.1, -0.5], [2.0, -0.05]])
    >>> threshold_mask(w, 0.2)
    tensor([[False,  True],
            [ True, False]])
    >>> magnitude_masks({"w": w}, sparsity=0.25)["w"]
    tensor([[ True,  True],
            [ True, False]])
    >>> round(rate_to_sparsity(0.1, 5), 5)
    0.40951
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .finetune import TrainHooks

try:  # GPT-2 keeps its attention and MLP weights in Conv1D, not nn.Linear
    from transformers.pytorch_utils import Conv1D
except ImportError:  # pragma: no cover - transformers always has it
    Conv1D = ()  # type: ignore[assignment]

# Output heads and embeddings stay dense unless asked for (GPT-2, NeoX, OPT, Llama names).
DEFAULT_EXCLUDE = (r"(^|\.)lm_head\.", r"(^|\.)embed_out\.", r"(^|\.)score\.", r"embed_tokens")

Scope = Literal["layer", "global"]


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}={value!r} is out of range; allowed: [0, 1)")


def rate_to_sparsity(rate: float, iterations: int) -> float:
    """Sparsity after pruning ``rate`` of the remaining weights ``iterations`` times."""
    _check_fraction("rate", rate)
    return 1 - (1 - rate) ** iterations


def sparsity_to_rate(sparsity: float, iterations: int) -> float:
    """The per-iteration rate that reaches ``sparsity`` in ``iterations`` prunings.

    Example:
        >>> round(sparsity_to_rate(0.40951, 5), 6)
        0.1
    """
    _check_fraction("sparsity", sparsity)
    if iterations < 1:
        raise ValueError(f"iterations={iterations!r} is out of range; allowed: [1, inf)")
    return 1 - (1 - sparsity) ** (1 / iterations)


def step_rate(previous_sparsity: float, target_sparsity: float) -> float:
    """The fraction of the remaining weights to prune to go from one sparsity to the next."""
    return (target_sparsity - previous_sparsity) / (1 - previous_sparsity)


def prunable_weights(
    model: nn.Module,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, nn.Parameter]:
    """The 2-D weights of ``nn.Linear`` and ``Conv1D`` layers, by parameter name.

    Args:
        model: any module, e.g. a Hugging Face causal LM.
        include: regular expressions; when given, a weight must match one of them.
        exclude: regular expressions that drop a weight (default: output heads and
            embeddings). A weight tied to the input embeddings is always left out.

    Returns:
        ``{name: parameter}`` in model order.
    """
    include = list(include) if include is not None else None
    exclude = list(exclude) if exclude is not None else list(DEFAULT_EXCLUDE)
    embedding_ptrs = {m.weight.data_ptr() for m in model.modules() if isinstance(m, nn.Embedding)}
    found: dict[str, nn.Parameter] = {}
    for module_name, module in model.named_modules():
        if not isinstance(module, (nn.Linear, Conv1D)):
            continue
        weight = module.weight
        name = f"{module_name}.weight" if module_name else "weight"
        if weight.ndim != 2 or weight.data_ptr() in embedding_ptrs:
            continue
        if include is not None and not any(re.search(p, name) for p in include):
            continue
        if any(re.search(p, name) for p in exclude):
            continue
        found[name] = weight
    return found


def threshold_mask(weight: torch.Tensor, threshold: float) -> torch.Tensor:
    """Keep the weights with ``|w| >= threshold``."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold < 0:
        raise ValueError(f"threshold={threshold!r} is out of range; allowed: [0, inf)")
    return weight.detach().abs() >= threshold


def std_threshold(weight: torch.Tensor, q: float) -> float:
    """Han et al. (2015): the threshold is q times the standard deviation of the layer."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or q < 0:
        raise ValueError(f"q={q!r} is out of range; allowed: [0, inf)")
    return q * weight.detach().float().std().item()


def _keys(weight: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Integer sort keys ordered as |w|: the bits of a non-negative float32 are monotonic.

    Already-pruned weights get key 0, below every live weight, so a new mask never
    revives one. Live weights get their float bits + 1.
    """
    key = weight.detach().abs().float().view(torch.int32).to(torch.int64).add_(1)
    if keep is not None:
        key.masked_fill_(~keep.to(key.device), 0)
    return key.flatten()


def _kth_key(chunks: list[tuple[torch.Tensor, torch.Tensor | None]], k: int) -> tuple[int, int]:
    """The k-th smallest key (1-based) over all chunks, and how many keys lie below it.

    A two-pass radix select on the keys' high and low 16 bits: each pass reads every
    layer once and holds one layer's temporaries at a time, so global pruning never
    copies all scores at once (the memory blow-up of ``global_unstructured``).
    """
    high = None
    for weight, keep in chunks:
        counts = torch.bincount(_keys(weight, keep) >> 16, minlength=1 << 16)
        high = counts if high is None else high + counts
    cumulative = high.cumsum(0)
    top = int(torch.searchsorted(cumulative, torch.tensor(k)).item())
    below = int(cumulative[top - 1].item()) if top > 0 else 0
    low = None
    for weight, keep in chunks:
        key = _keys(weight, keep)
        selected = key[(key >> 16) == top] & 0xFFFF
        counts = torch.bincount(selected, minlength=1 << 16)
        low = counts if low is None else low + counts
    cumulative = low.cumsum(0)
    bottom = int(torch.searchsorted(cumulative, torch.tensor(k - below)).item())
    below += int(cumulative[bottom - 1].item()) if bottom > 0 else 0
    return (top << 16) | bottom, below


def magnitude_masks(
    weights: dict[str, torch.Tensor],
    sparsity: float,
    scope: Scope = "layer",
    masks: dict[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Masks that prune exactly ``round(sparsity * n)`` weights of smallest magnitude.

    Args:
        weights: ``{name: weight}``.
        sparsity: the fraction to prune, in [0, 1): per layer (``scope="layer"``) or over
            all weights together (``scope="global"``).
        scope: ``layer`` or ``global``.
        masks: existing masks (True = kept); pruned weights stay pruned and count
            toward the sparsity, so pruning again never loosens a mask.

    Returns:
        ``{name: bool mask}``. Ties are broken deterministically: among equal magnitudes
        the weight that comes first (model order, then row-major index) is pruned first.
    """
    _check_fraction("sparsity", sparsity)
    if scope not in ("layer", "global"):
        raise ValueError(f"scope={scope!r} is not allowed; choose 'layer' or 'global'")
    masks = masks or {}
    groups = [[name] for name in weights] if scope == "layer" else [list(weights)]
    result: dict[str, torch.Tensor] = {}
    for names in groups:
        chunks = [(weights[n], masks.get(n)) for n in names]
        total = sum(weights[n].numel() for n in names)
        already = sum(int((~m).sum()) for _, m in chunks if m is not None)
        k = max(round(sparsity * total), already)  # round() as torch's prune does
        if k == 0:
            for name in names:
                result[name] = torch.ones_like(weights[name], dtype=torch.bool)
            continue
        threshold, below = _kth_key(chunks, k)
        ties_to_prune = k - below
        for name, (weight, keep) in zip(names, chunks):
            key = _keys(weight, keep)
            prune = key < threshold
            if ties_to_prune > 0:
                ties = (key == threshold).nonzero().flatten()[:ties_to_prune]
                prune[ties] = True
                ties_to_prune -= len(ties)
            result[name] = (~prune).view(weight.shape)
    return result


class Pruner(TrainHooks):
    """Owns the masks of a model's prunable weights and keeps them applied.

    Use it as training hooks (``finetune.train(..., hooks=pruner)``): gradients of
    pruned weights are zeroed after backward, and the weights are zeroed again after
    every optimizer step. With a ``schedule``, it prunes at the schedule's steps.

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> pruner = Pruner(model)
        >>> pruner.prune_magnitude(0.5, scope="global")
        0.5
        >>> pruner.prune_rate(0.5)  # half of the remaining weights: 0.5 -> 0.75
        0.75
    """

    def __init__(
        self,
        model: nn.Module,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        schedule=None,
        scope: Scope = "layer",
    ):
        self.weights = prunable_weights(model, include, exclude)
        if not self.weights:
            raise ValueError(
                f"no prunable weight matched (include={include!r}, exclude={exclude!r}); "
                "prunable weights are the 2-D weights of nn.Linear and Conv1D layers"
            )
        if scope not in ("layer", "global"):
            raise ValueError(f"scope={scope!r} is not allowed; choose 'layer' or 'global'")
        self.masks: dict[str, torch.Tensor] = {}
        # Masks in each weight's dtype, built on first use in training: multiplying by a
        # float mask is an order of magnitude faster than by a bool one on CPUs.
        self._factors: dict[str, torch.Tensor] = {}
        self.schedule = schedule
        self.scope: Scope = scope
        self.history: list[dict[str, float]] = []  # {"step", "sparsity"} at each pruning

    # -- making masks -------------------------------------------------------------
    def _set(self, new: dict[str, torch.Tensor]) -> float:
        self._factors = {}
        for name, mask in new.items():
            old = self.masks.get(name)
            mask = mask.to(self.weights[name].device)
            self.masks[name] = mask if old is None else (mask & old.to(mask.device))
        self.apply()
        return self.sparsity()

    def prune_threshold(self, threshold: float | None = None, q: float | None = None) -> float:
        """Prune ``|w| < threshold`` (absolute), or ``|w| < q * std`` of each layer."""
        if (threshold is None) == (q is None):
            raise ValueError("give exactly one of threshold= (absolute) or q= (times the std)")
        if q is not None:
            std_threshold(next(iter(self.weights.values())), q)  # validates q
        else:
            threshold_mask(torch.zeros(1), threshold)  # validates threshold
        new = {}
        for name, weight in self.weights.items():
            t = threshold if threshold is not None else std_threshold(weight, q)
            new[name] = threshold_mask(weight, t)
        return self._set(new)

    def prune_magnitude(self, sparsity: float, scope: Scope | None = None) -> float:
        """Prune to ``sparsity`` by magnitude (per layer or global); returns the sparsity."""
        new = magnitude_masks(self.weights, sparsity, scope or self.scope, self.masks)
        return self._set(new)

    def prune_rate(self, rate: float, scope: Scope | None = None) -> float:
        """Prune ``rate`` of the weights still standing (one iteration)."""
        _check_fraction("rate", rate)
        target = 1 - (1 - self.sparsity()) * (1 - rate)
        return self.prune_magnitude(min(target, 1 - 1e-12), scope)

    # -- keeping masks applied ----------------------------------------------------
    @torch.no_grad()
    def apply(self) -> None:
        """Zero every pruned weight in place."""
        for name, mask in self.masks.items():
            weight = self.weights[name]
            if mask.device != weight.device:
                mask = self.masks[name] = mask.to(weight.device)
            weight.mul_(mask)

    def _factor(self, name: str) -> torch.Tensor:
        weight = self.weights[name]
        factor = self._factors.get(name)
        if factor is None or factor.device != weight.device or factor.dtype != weight.dtype:
            factor = self._factors[name] = self.masks[name].to(weight.device, weight.dtype)
        return factor

    @torch.no_grad()
    def mask_gradients(self) -> None:
        for name in self.masks:
            grad = self.weights[name].grad
            if grad is not None:
                grad.mul_(self._factor(name).to(grad.dtype))

    @torch.no_grad()
    def reapply(self) -> None:
        """Zero the pruned weights again (the training-loop version of :meth:`apply`)."""
        for name in self.masks:
            self.weights[name].mul_(self._factor(name))

    def check(self, config) -> None:
        # A loop that ends before the schedule does would stop short of the target.
        if self.schedule is not None and self.schedule.end_step >= config.steps:
            raise ValueError(
                f"schedule.end_step={self.schedule.end_step} is not before the last training "
                f"step (train.steps={config.steps}); allowed: [1, {config.steps - 1}]"
            )

    def before_step(self, step: int) -> None:
        if self.schedule is not None and self.schedule.should_prune(step):
            sparsity = self.prune_magnitude(self.schedule.sparsity_at(step))
            self.history.append({"step": step, "sparsity": sparsity})

    def after_backward(self, model: nn.Module) -> None:
        self.mask_gradients()

    def after_step(self, step: int) -> None:
        self.reapply()

    # -- reporting ----------------------------------------------------------------
    def sparsity(self) -> float:
        """Fraction of the prunable weights that are zero now."""
        zeros = sum(int((w == 0).sum()) for w in self.weights.values())
        return zeros / sum(w.numel() for w in self.weights.values())

    def report(self) -> list[dict[str, float | int | str]]:
        """Per-layer rows: name, total, non-zero, sparsity; the last row is the total."""
        return sparsity_report(self.weights)

    # -- files ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save the masks as safetensors (uint8), atomically."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tensors = {
            name: mask.to("cpu", torch.uint8).contiguous() for name, mask in self.masks.items()
        }
        save_file(tensors, str(tmp), metadata={"format": "pruning-lib masks", "scope": self.scope})
        tmp.replace(path)
        return path

    def load(self, path: str | Path) -> float:
        """Load masks saved by :meth:`save` and apply them; returns the sparsity."""
        tensors = load_file(str(path))
        unknown = sorted(set(tensors) - set(self.weights))
        if unknown:
            raise ValueError(f"mask file {str(path)!r} has masks for unknown weights {unknown[:3]}")
        for name, mask in tensors.items():
            if mask.shape != self.weights[name].shape:
                raise ValueError(
                    f"mask {name} has shape {tuple(mask.shape)}, "
                    f"weight has {tuple(self.weights[name].shape)}"
                )
        self.masks = {}
        return self._set({name: mask.bool() for name, mask in tensors.items()})


def sparsity_report(weights: dict[str, torch.Tensor]) -> list[dict[str, float | int | str]]:
    """Non-zero counts per weight and in total.

    Example:
        >>> sparsity_report({"a": torch.tensor([0.0, 1.0])})[-1]
        {'name': 'total', 'total': 2, 'nonzero': 1, 'sparsity': 0.5}
    """
    rows: list[dict[str, float | int | str]] = []
    total = nonzero = 0
    for name, weight in weights.items():
        n, nz = weight.numel(), int(torch.count_nonzero(weight))
        rows.append({"name": name, "total": n, "nonzero": nz, "sparsity": 1 - nz / n})
        total += n
        nonzero += nz
    rows.append(
        {
            "name": "total",
            "total": total,
            "nonzero": nonzero,
            "sparsity": 1 - nonzero / total if total else 0.0,
        }
    )
    return rows
