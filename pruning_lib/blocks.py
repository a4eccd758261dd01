"""Whole transformer blocks removed, chosen by how little each changes its input (ShortGPT).

ShortGPT (Men et al., 2024, arXiv 2403.03853) scores block ``i`` by its *Block Influence*,
``BI_i = 1 - E[cos(x_i, x_{i+1})]`` over the tokens of calibration text: a block whose
output points where its input did adds little and goes first. :func:`remove_blocks`
deletes blocks from the model's list and updates the config (the layer count, and the
per-layer ``layer_types`` where a config has them), so ``save_pretrained`` and the stock
``AutoModelForCausalLM.from_pretrained`` give the shorter model, with no custom code. The
remaining blocks are renumbered (``layer_idx``, which caches index by) as a fresh model of
that config would number them.

Removing a block is exactly skipping it: the residual stream passes from the block before
to the block after. The test checks the shorter model's logits against the full model with
those blocks bypassed by hooks.

Example:
    >>> import torch
    >>> from transformers import GPT2Config, GPT2LMHeadModel
    >>> model = GPT2LMHeadModel(GPT2Config(n_embd=8, n_layer=3, n_head=2, vocab_size=16))
    >>> remove_blocks(model, [1]), model.config.n_layer
    ([1], 2)
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .checks import check_number
from .structured import block_list

# Architectures whose blocks can be removed (those the structured shrink supports).
BLOCK_ARCHITECTURES = ("gpt2", "gpt_neox", "opt", "llama", "mistral", "qwen2")


def _block_list(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in BLOCK_ARCHITECTURES:
        raise ValueError(
            f"block removal knows {list(BLOCK_ARCHITECTURES)}; model_type={model_type!r} "
            "is not one of them"
        )
    if getattr(model.config, "scale_attn_by_inverse_layer_idx", False):
        raise ValueError(
            "scale_attn_by_inverse_layer_idx=True scales each GPT-2 block by its index: "
            "renumbered blocks would compute something else; blocks cannot be removed"
        )
    return block_list(model)


def _hidden(value) -> torch.Tensor:
    """The hidden states of a block's input or output (a tensor, or a tuple's first)."""
    return value[0] if isinstance(value, (tuple, list)) else value


@torch.no_grad()
def block_influence(model: nn.Module, batches: Iterable[torch.Tensor]) -> list[float]:
    """ShortGPT's Block Influence of each block: one minus the mean cosine similarity of
    its input and output hidden states over every token of ``batches`` (``(batch, tokens)``
    ids with no padding, e.g. ``scores.calibration_batches``).

    Returns:
        One number per block, in order: the lower, the less the block changes its input.
    """
    layers = _block_list(model)[2]
    totals = [0.0] * len(layers)
    tokens = [0] * len(layers)
    inputs: dict[int, torch.Tensor] = {}

    def hooks_for(index: int):
        def before(module, args, kwargs):
            inputs[index] = _hidden(args[0] if args else kwargs["hidden_states"])

        def after(module, args, kwargs, output):
            x, y = inputs.pop(index).float(), _hidden(output).float()
            cosine = nn.functional.cosine_similarity(x, y, dim=-1)  # (batch, tokens)
            totals[index] += float(cosine.sum())
            tokens[index] += cosine.numel()

        return before, after

    handles = []
    for index, layer in enumerate(layers):
        before, after = hooks_for(index)
        handles.append(layer.register_forward_pre_hook(before, with_kwargs=True))
        handles.append(layer.register_forward_hook(after, with_kwargs=True))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for batch in batches:
            model(input_ids=batch.to(device), use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if not tokens[0]:
        raise ValueError("batches held no tokens: the block influence needs calibration text")
    return [1.0 - total / count for total, count in zip(totals, tokens)]


def blocks_to_remove(influence: list[float], count: int) -> list[int]:
    """The ``count`` blocks of lowest influence (ties: the later block first, as a later
    block's input has passed through more of the model), in increasing order."""
    check_number("count", count, 0, integer=True)
    if count >= len(influence):
        raise ValueError(f"count={count!r} is not allowed; allowed: [0, {len(influence) - 1}]")
    order = sorted(range(len(influence)), key=lambda i: (influence[i], -i))
    return sorted(order[:count])


def remove_blocks(model: nn.Module, indices: Iterable[int]) -> list[int]:
    """Delete the blocks at ``indices`` in place, update the config, renumber the rest.

    Args:
        model: a GPT-2, GPT-NeoX, OPT, Llama, Mistral or Qwen2 causal LM.
        indices: distinct block indices; at least one block must stay.

    Returns:
        The removed indices, sorted.
    """
    owner, name, layers = _block_list(model)
    count = len(layers)
    removed = sorted(set(int(i) for i in indices))  # every check before any change
    if any(i < 0 or i >= count for i in removed):
        raise ValueError(f"indices={removed!r} are out of range; allowed: [0, {count - 1}]")
    if len(removed) == count:
        raise ValueError(f"indices={removed!r} remove every block; at least one must stay")
    kept = [i for i in range(count) if i not in removed]
    config = model.config
    layer_types = getattr(config, "layer_types", None)
    new_list = nn.ModuleList([layers[i] for i in kept])
    for position, layer in enumerate(new_list):
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = position
    setattr(owner, name, new_list)
    config.num_hidden_layers = len(kept)  # GPT-2's n_layer through its attribute map
    if layer_types is not None:
        config.layer_types = [layer_types[i] for i in kept]
    return removed
