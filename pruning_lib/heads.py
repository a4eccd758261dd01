"""Structured pruning of attention heads, for architectures whose config states ``head_dim``.

A head is a slice of ``head_dim`` rows of the query projection and the matching columns of
the output projection. With grouped-query attention (GQA) several query heads share one key
and value head, so the unit removed here is a whole *group*: one key/value head and the
``num_attention_heads / num_key_value_heads`` query heads that read it. Removing whole groups
keeps the group size, so the stock attention code (``repeat_kv``) still pairs every query
head with its own key/value head, and the result is an ordinary config of the same
architecture (fewer ``num_attention_heads`` and ``num_key_value_heads``, the same
``head_dim``): ``save_pretrained`` and the stock ``from_pretrained`` load it.

Which architectures: Llama, Mistral and Qwen2 read ``config.head_dim`` when it is set, so
the head count can change while the head size stays. GPT-2, GPT-NeoX and OPT cannot: their
attention derives the head size as ``hidden_size / num_attention_heads``, so fewer heads in a
stock config would mean *larger* heads, a different function; a head removal there needs
custom modeling code, which this library does not ship. Llama's config also insists that
``hidden_size`` be a multiple of ``num_attention_heads``; a count it refuses is an error
before any change.

Example:
    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> config = LlamaConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1,
    ...                      num_attention_heads=4, num_key_value_heads=4, intermediate_size=32)
    >>> model = LlamaForCausalLM(config)
    >>> shrink_heads(model, 0.5)
    {'before': 4, 'kept': 2}
    >>> model.config.num_attention_heads, model.config.head_dim
    (2, 4)
"""

from __future__ import annotations

import torch
from torch import nn

from .checks import check_fraction
from .structured import (
    check_kept,
    check_unit_scores,
    neurons_to_keep,
    slice_module,
    transformer_layers,
)

# model_type -> the attention module's name in a layer; all use q/k/v/o_proj.
HEAD_ARCHITECTURES = {"llama": "self_attn", "mistral": "self_attn", "qwen2": "self_attn"}
NO_HEAD_DIM = ("gpt2", "gpt_neox", "opt")  # head size = hidden / heads, see the docstring


def _attention(model: nn.Module) -> list[nn.Module]:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type in NO_HEAD_DIM:
        raise ValueError(
            f"model_type={model_type!r} derives the head size from hidden_size / "
            "num_attention_heads, so a stock config cannot state fewer heads of the same "
            "size; remove MLP neurons (shrink_mlp) instead"
        )
    if model_type not in HEAD_ARCHITECTURES:
        raise ValueError(
            f"head pruning knows {sorted(HEAD_ARCHITECTURES)}; model_type={model_type!r} "
            "is not one of them"
        )
    return [getattr(layer, HEAD_ARCHITECTURES[model_type]) for layer in transformer_layers(model)]


def _shape(config) -> tuple[int, int, int]:
    """(key/value groups, query heads per group, head size)."""
    heads, groups = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return groups, heads // groups, head_dim


def group_scores(model: nn.Module) -> list[torch.Tensor]:
    """Per layer, one weight-norm score per key/value group: the L2 norm of its query, key
    and value rows and of its output-projection columns (pass your own scores instead, e.g.
    activation-aware ones, to :func:`shrink_heads`)."""
    groups, per_group, head_dim = _shape(model.config)
    scores = []
    for attention in _attention(model):
        query = attention.q_proj.weight.detach().float().view(groups, -1).pow(2).sum(1)
        key = attention.k_proj.weight.detach().float().view(groups, -1).pow(2).sum(1)
        value = attention.v_proj.weight.detach().float().view(groups, -1).pow(2).sum(1)
        output = attention.o_proj.weight.detach().float()  # (hidden, heads * head_dim)
        output = output.t().reshape(groups, -1).pow(2).sum(1)
        scores.append((query + key + value + output).sqrt())
    return scores


def _rows(groups: torch.Tensor, width: int) -> torch.Tensor:
    """The row indices of ``groups`` when each group spans ``width`` consecutive rows."""
    return (groups[:, None] * width + torch.arange(width)).flatten()


@torch.no_grad()
def mask_heads(model: nn.Module, keep: list[torch.Tensor]) -> None:
    """Zero the removed groups' columns of each output projection (the same function as
    shrinking: the reference in tests)."""
    groups, per_group, head_dim = _shape(model.config)
    attentions = _attention(model)
    check_kept(keep, len(attentions), groups)
    for attention, index in zip(attentions, keep):
        weight = attention.o_proj.weight
        kept = torch.zeros(weight.shape[1], dtype=torch.bool, device=weight.device)
        kept[_rows(index, per_group * head_dim).to(weight.device)] = True
        weight[:, ~kept] = 0


def _new_config(config, kept_groups: int, fraction: float):
    """The smaller config, checked by the architecture's own validation before any change."""
    groups, per_group, head_dim = _shape(config)
    values = config.to_dict()
    values.update(
        num_attention_heads=kept_groups * per_group,
        num_key_value_heads=kept_groups,
        head_dim=head_dim,
    )
    try:
        return type(config).from_dict(values)
    except Exception as error:  # the config class states its own rule (e.g. Llama's)
        raise ValueError(
            f"fraction={fraction} leaves {kept_groups * per_group} heads, which "
            f"{type(config).__name__} refuses: {error}"
        ) from error


@torch.no_grad()
def shrink_heads(
    model: nn.Module, fraction: float, scores: list[torch.Tensor] | None = None
) -> dict[str, int]:
    """Remove ``fraction`` of every layer's attention heads (lowest-scoring key/value groups
    with their query heads), in place.

    Args:
        model: a Llama, Mistral or Qwen2 causal LM (see the module docstring for why not
            GPT-2, GPT-NeoX or OPT).
        fraction: the share of key/value groups to remove, in [0, 1); the same count in
            every layer, at least one group left.
        scores: per layer, one score per key/value group (default: :func:`group_scores`).

    Returns:
        ``{"before": heads per layer, "kept": heads per layer}``; the config states the new
        head counts and the unchanged ``head_dim``.
    """
    check_fraction("fraction", fraction)
    attentions = _attention(model)
    groups, per_group, head_dim = _shape(model.config)
    scores = group_scores(model) if scores is None else scores
    check_unit_scores(scores, len(attentions), groups, unit="key/value group")
    if groups - round(fraction * groups) < 1:
        raise ValueError(f"fraction={fraction} would leave no key/value group of {groups}")
    keep = neurons_to_keep(scores, fraction)  # same count per layer, sorted
    config = _new_config(model.config, len(keep[0]), fraction)  # refuses before any change
    for attention, index in zip(attentions, keep):
        query_rows = _rows(index, per_group * head_dim)
        for module, rows in (
            (attention.q_proj, query_rows),
            (attention.k_proj, _rows(index, head_dim)),
            (attention.v_proj, _rows(index, head_dim)),
        ):
            slice_module(module, rows, out=True)
        slice_module(attention.o_proj, query_rows, out=False)
    for key in ("num_attention_heads", "num_key_value_heads", "head_dim"):
        setattr(model.config, key, getattr(config, key))
    return {"before": groups * per_group, "kept": len(keep[0]) * per_group}
