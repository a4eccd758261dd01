"""Structured pruning that shrinks the model: whole MLP neurons removed, config updated.

Unstructured and N:M masks leave every matrix its shape. Removing a neuron of an MLP (a row
of the up and gate projections, the matching column of the down projection) makes every
matrix smaller, so a dense kernel does less work and the file is smaller. The same number of
neurons goes in every layer, so the result is an ordinary config of the same architecture:
``save_pretrained`` and the stock ``from_pretrained`` load it with no custom code.

Attention heads: :mod:`pruning_lib.heads` removes them where the config states ``head_dim``
apart from the hidden size (Llama, Mistral, Qwen2). GPT-2, GPT-NeoX and OPT derive the head
size from ``hidden_size / num_attention_heads``, so a stock config cannot state fewer heads.

Example:
    >>> import torch
    >>> from transformers import GPT2Config, GPT2LMHeadModel
    >>> model = GPT2LMHeadModel(GPT2Config(n_embd=8, n_layer=1, n_head=2, vocab_size=16))
    >>> shrink_mlp(model, 0.25)["kept"], model.config.n_inner
    (24, 24)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from .checks import check_fraction
from .weights import is_conv1d


@dataclass(frozen=True)
class MLPSpec:
    """Where one architecture keeps its MLP and how its config names the width."""

    up: tuple[str, ...]  # modules whose outputs are the neurons (up, gate)
    down: str  # the module that reads the neurons
    config_key: str  # the config field holding the number of neurons


# model_type -> the MLP's module names (relative to a layer's MLP) and the config key.
MLP_SPECS: dict[str, tuple[str, MLPSpec]] = {
    "gpt2": ("mlp", MLPSpec(("c_fc",), "c_proj", "n_inner")),
    "gpt_neox": ("mlp", MLPSpec(("dense_h_to_4h",), "dense_4h_to_h", "intermediate_size")),
    "opt": ("", MLPSpec(("fc1",), "fc2", "ffn_dim")),
    "llama": ("mlp", MLPSpec(("gate_proj", "up_proj"), "down_proj", "intermediate_size")),
    "mistral": ("mlp", MLPSpec(("gate_proj", "up_proj"), "down_proj", "intermediate_size")),
    "qwen2": ("mlp", MLPSpec(("gate_proj", "up_proj"), "down_proj", "intermediate_size")),
}


BLOCK_PATHS = ("transformer.h", "gpt_neox.layers", "model.decoder.layers", "model.layers")


def block_list(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """The module that holds the transformer blocks, its attribute name, and the blocks."""
    for path in BLOCK_PATHS:
        *parents, name = path.split(".")
        owner = model
        for part in parents:
            owner = getattr(owner, part, None)
            if owner is None:
                break
        blocks = getattr(owner, name, None) if owner is not None else None
        if isinstance(blocks, nn.ModuleList):
            return owner, name, blocks
    raise ValueError("no transformer layers found (transformer.h, gpt_neox.layers, ...)")


def transformer_layers(model: nn.Module) -> list[nn.Module]:
    """The model's transformer blocks, in order (GPT-2, GPT-NeoX, OPT, Llama-style)."""
    return list(block_list(model)[2])


def _spec(model: nn.Module) -> tuple[str, MLPSpec]:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in MLP_SPECS:
        raise ValueError(
            f"structured MLP pruning knows {sorted(MLP_SPECS)}; model_type={model_type!r} "
            "is not one of them"
        )
    return MLP_SPECS[model_type]


def _mlp_modules(layer: nn.Module, where: str, spec: MLPSpec):
    mlp = getattr(layer, where) if where else layer
    return [getattr(mlp, name) for name in spec.up], getattr(mlp, spec.down)


def _out_rows(module: nn.Module) -> torch.Tensor:
    """The module's weight as (out, in), whatever its storage (Conv1D stores (in, out))."""
    return module.weight.t() if is_conv1d(module) else module.weight


def output_rows(module: nn.Module) -> torch.Tensor:
    """A linear module's weight as (out, in), a view (GPT-2's ``Conv1D`` stores (in, out))."""
    return _out_rows(module)


def mlp_up_matrix(model: nn.Module, layer: int) -> tuple[str, nn.Module]:
    """The weight name and module of ``layer``'s first MLP up projection: the matrix whose
    output rows are that layer's neurons, in any architecture :data:`MLP_SPECS` knows."""
    where, spec = _spec(model)
    ups, _ = _mlp_modules(transformer_layers(model)[layer], where, spec)
    names = {id(module): name for name, module in model.named_modules()}
    return f"{names[id(ups[0])]}.weight", ups[0]


def mlp_shape(model: nn.Module) -> tuple[int, int, int]:
    """``(layers, neurons per layer, parameters one neuron owns)``: its row of every up
    projection (with its bias) and its column of the down projection (whose bias stays).
    Works on a model on the meta device (no weights needed).

    Example:
        >>> from transformers import GPT2Config, GPT2LMHeadModel
        >>> mlp_shape(GPT2LMHeadModel(GPT2Config(n_embd=8, n_layer=2, n_head=2)))
        (2, 32, 17)
    """
    where, spec = _spec(model)
    layers = transformer_layers(model)
    ups, down = _mlp_modules(layers[0], where, spec)
    width = _out_rows(down).shape[1]  # the down projection reads every neuron
    owned = sum(sum(p.numel() for p in up.parameters()) for up in ups) + down.weight.numel()
    return len(layers), width, owned // width


def neuron_scores(model: nn.Module) -> list[torch.Tensor]:
    """Per layer, each neuron's L2 norm of its rows in the up projections and its column in the
    down projection (a weight-norm score; pass your own, e.g. activation-aware, instead)."""
    where, spec = _spec(model)
    scores = []
    for layer in transformer_layers(model):
        ups, down = _mlp_modules(layer, where, spec)
        total = sum(_out_rows(up).detach().float().pow(2).sum(1) for up in ups)
        total = total + _out_rows(down).detach().float().pow(2).sum(0)
        scores.append(total.sqrt())
    return scores


def check_unit_scores(scores, layers: int, width: int, unit: str = "neuron") -> None:
    """Refuse, before any change, scores that are not one finite non-negative 1-D tensor of
    ``width`` values (one per ``unit``) for each of ``layers`` layers.

    Example:
        >>> check_unit_scores([torch.ones(4)], layers=2, width=4)
        Traceback (most recent call last):
        ...
        ValueError: scores has 1 entries; allowed: one per layer, 2
    """
    if isinstance(scores, torch.Tensor) or not isinstance(scores, (list, tuple)):
        raise ValueError(f"scores must be a list of {layers} tensors, one per layer")
    if len(scores) != layers:
        raise ValueError(f"scores has {len(scores)} entries; allowed: one per layer, {layers}")
    for index, score in enumerate(scores):
        if not isinstance(score, torch.Tensor) or score.ndim != 1 or score.numel() != width:
            shape = tuple(score.shape) if isinstance(score, torch.Tensor) else type(score).__name__
            raise ValueError(
                f"scores[{index}] is {shape}; allowed: a 1-D tensor of {width} values, one "
                f"per {unit} of the layer"
            )
        values = score.detach().float()
        if not bool(torch.isfinite(values).all()) or bool((values < 0).any()):
            raise ValueError(
                f"scores[{index}] holds a NaN, an infinity or a negative value; allowed: "
                "finite scores >= 0"
            )


def neurons_to_keep(scores: list[torch.Tensor], fraction: float) -> list[torch.Tensor]:
    """The indices (sorted) of the neurons each layer keeps: the same number everywhere."""
    check_fraction("fraction", fraction)
    width = scores[0].numel()
    keep = width - round(fraction * width)
    if keep < 1:
        raise ValueError(f"fraction={fraction} would leave no neuron of {width}")
    return [torch.sort(torch.topk(s, keep, sorted=False).indices).values for s in scores]


def check_kept(keep, layers: int, width: int) -> None:
    """Refuse, before any change, kept indices that are not one 1-D integer tensor per layer
    of distinct indices in [0, width)."""
    if not isinstance(keep, (list, tuple)) or len(keep) != layers:
        raise ValueError(f"keep must hold one tensor of indices per layer, {layers}")
    for index, kept in enumerate(keep):
        if (
            not isinstance(kept, torch.Tensor) or kept.ndim != 1
            or kept.dtype.is_floating_point or kept.dtype == torch.bool
            or (kept.numel() and not (0 <= int(kept.min()) and int(kept.max()) < width))
            or kept.unique().numel() != kept.numel()
        ):  # fmt: skip
            raise ValueError(
                f"keep[{index}] must be distinct integer indices in [0, {width}), a 1-D tensor"
            )


def slice_module(module: nn.Module, index: torch.Tensor, out: bool) -> None:
    """Keep ``index`` of the module's outputs (``out``) or inputs, in place."""
    conv = is_conv1d(module)
    weight = module.weight.data
    dim = (1 if conv else 0) if out else (0 if conv else 1)
    module.weight = nn.Parameter(weight.index_select(dim, index.to(weight.device)).clone())
    if out and getattr(module, "bias", None) is not None:
        module.bias = nn.Parameter(module.bias.data.index_select(0, index.to(weight.device)))
    if conv:
        module.nf = module.weight.shape[1]
    elif out:
        module.out_features = module.weight.shape[0]
    else:
        module.in_features = module.weight.shape[1]


@torch.no_grad()
def mask_mlp(model: nn.Module, keep: list[torch.Tensor]) -> None:
    """Zero the removed neurons' columns of each down projection (same function as shrinking,
    the reference in tests); ``keep``: per layer, the indices of the neurons kept."""
    where, spec = _spec(model)
    layers, width, _ = mlp_shape(model)
    check_kept(keep, layers, width)
    for layer, index in zip(transformer_layers(model), keep):
        _, down = _mlp_modules(layer, where, spec)
        rows = _out_rows(down)
        mask = torch.zeros(rows.shape[1], dtype=torch.bool, device=rows.device)
        mask[index.to(rows.device)] = True
        rows[:, ~mask] = 0


@torch.no_grad()
def shrink_mlp(
    model: nn.Module, fraction: float, scores: list[torch.Tensor] | None = None
) -> Mapping[str, int]:
    """Remove ``fraction`` of every layer's MLP neurons (lowest scores), in place.

    Args:
        model: a GPT-2, GPT-NeoX, OPT, Llama, Mistral or Qwen2 causal LM.
        fraction: the share of neurons to remove in [0, 1); the same count in every layer.
        scores: per layer, one non-negative score per neuron (default: :func:`neuron_scores`).

    Returns:
        ``{"before": neurons per layer, "kept": neurons per layer}``; the config's width key
        is updated, so ``save_pretrained`` / ``from_pretrained`` give the smaller model.
    """
    where, spec = _spec(model)
    layers, width, _ = mlp_shape(model)
    scores = neuron_scores(model) if scores is None else scores
    check_unit_scores(scores, layers, width)  # every check before any change
    keep = neurons_to_keep(scores, fraction)
    before = width
    for layer, index in zip(transformer_layers(model), keep):
        ups, down = _mlp_modules(layer, where, spec)
        for up in ups:
            slice_module(up, index, out=True)
        slice_module(down, index, out=False)
    setattr(model.config, spec.config_key, len(keep[0]))
    return {"before": before, "kept": len(keep[0])}
