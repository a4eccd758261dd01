"""Which weights are prunable: the matrices of the attention and MLP blocks.

- 2-D weights of ``nn.Linear`` and Hugging Face ``Conv1D`` (GPT-2 keeps its attention
  and MLP in ``Conv1D``; tools that look only for ``nn.Linear`` miss them);
- mixture-of-experts stacks: transformers 5 keeps all experts of a layer in one 3-D
  parameter (``mlp.experts.gate_up_proj``: experts x out x in). Each expert's matrix is
  a prunable weight of its own, named ``<parameter>[<expert>]``, so layer scope prunes
  every expert to the same sparsity, as if it were an ``nn.Linear``.

Embeddings, norms, biases and the output head stay dense unless the caller asks
otherwise; a weight tied to the input embeddings is always left out.
:func:`uncovered_matrices` names the matrices of a model that no rule covered, so a new
architecture cannot be half-pruned in silence.

Example:
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> list(prunable_weights(model))
    ['0.weight', '2.weight']
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

import torch
from torch import nn


def is_conv1d(module: nn.Module) -> bool:
    """Whether ``module`` is Hugging Face's ``Conv1D`` (GPT-2 keeps its attention and MLP
    weights in it, stored (in, out)). Imports nothing: a model made of Conv1D layers has
    imported transformers already, and the library does not need it otherwise.

    Example:
        >>> is_conv1d(nn.Linear(2, 2))
        False
    """
    utils = sys.modules.get("transformers.pytorch_utils")
    return utils is not None and isinstance(module, utils.Conv1D)


# Routers choose experts; they are tiny and stay dense, as in Wanda and SparseGPT.
ROUTER = r"(^|\.)(shared_expert_)?(gate|router)\.weight$"
# Output heads, embeddings and routers stay dense unless asked for (GPT-2, NeoX, OPT, Llama,
# Mixtral, Qwen-MoE names).
DEFAULT_EXCLUDE = (
    r"(^|\.)lm_head\.",
    r"(^|\.)embed_out\.",
    r"(^|\.)score\.",
    r"embed_tokens",
    ROUTER,
)

# A 3-D parameter of a module named ``experts`` (Mixtral, Qwen-MoE, OLMoE) or of a
# class named ``...Experts`` (GraniteMoE's ParallelExperts) is a stack of expert matrices.
EXPERT_STACK = re.compile(r"(^|\.)experts\.[^.]+$")

# (parameter, index along dim 0 or None): where a prunable weight lives in the model.
WeightRef = tuple[nn.Parameter, "int | None"]


def _matches(name: str, include: list[str] | None, exclude: list[str]) -> bool:
    if include is not None and not any(re.search(p, name) for p in include):
        return False
    return not any(re.search(p, name) for p in exclude)


def _embedding_pointers(model: nn.Module) -> set[int]:
    """The storage of every embedding matrix (a tied LM head shares it); on the meta
    device, where nothing has storage, the parameters themselves."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Embedding)]
    return {id(w) if w.is_meta else w.data_ptr() for w in weights}


def prunable_refs(
    model: nn.Module,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, WeightRef]:
    """Where each prunable weight lives: ``{name: (parameter, expert index or None)}``.

    The :class:`~pruning_lib.prune.Pruner` keeps these references rather than tensors, so
    that its masks follow the model through ``model.to(device)`` and Accelerate.
    """
    include = list(include) if include is not None else None
    exclude = list(exclude) if exclude is not None else list(DEFAULT_EXCLUDE)
    embeddings = _embedding_pointers(model)
    found: dict[str, WeightRef] = {}
    for module_name, module in model.named_modules():
        prefix = f"{module_name}." if module_name else ""
        if isinstance(module, nn.Linear) or is_conv1d(module):
            weight = module.weight
            name = f"{prefix}weight"
            pointer = id(weight) if weight.is_meta else weight.data_ptr()
            if weight.ndim == 2 and pointer not in embeddings:
                if _matches(name, include, exclude):
                    found[name] = (weight, None)
            continue
        for param_name, param in module.named_parameters(recurse=False):
            name = f"{prefix}{param_name}"
            is_stack = EXPERT_STACK.search(name) or type(module).__name__.endswith("Experts")
            if param.ndim == 3 and is_stack:
                for expert in range(param.shape[0]):
                    expert_name = f"{name}[{expert}]"
                    if _matches(expert_name, include, exclude):
                        found[expert_name] = (param, expert)
    return found


def input_axes(model: nn.Module, refs: dict[str, WeightRef]) -> dict[str, int]:
    """The dimension each prunable weight's matmul reduces over: 0 for GPT-2's ``Conv1D``
    (stored in x out), 1 for ``nn.Linear`` and expert matrices (out x in)."""
    conv = {id(m.weight) for m in model.modules() if is_conv1d(m)}
    return {name: 0 if id(param) in conv else 1 for name, (param, _) in refs.items()}


def resolve(ref: WeightRef) -> torch.Tensor:
    """The tensor a reference points to now (a view for an expert's matrix)."""
    parameter, index = ref
    return parameter if index is None else parameter.detach()[index]


def prunable_weights(
    model: nn.Module,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, torch.Tensor]:
    """The prunable matrices by name, in model order.

    Args:
        model: any module, e.g. a Hugging Face causal LM.
        include: regular expressions; when given, a weight must match one of them.
        exclude: regular expressions that drop a weight (default: output heads and
            embeddings). A weight tied to the input embeddings is always left out.

    Returns:
        ``{name: tensor}``: the ``nn.Parameter`` itself for a layer's weight, a view of
        the stacked parameter for one expert's matrix (call again after moving the model).
    """
    return {name: resolve(ref) for name, ref in prunable_refs(model, include, exclude).items()}


def prunable_parameters(refs: dict[str, WeightRef]) -> list[nn.Parameter]:
    """The distinct parameters behind prunable weights (an expert stack appears once)."""
    seen: dict[int, nn.Parameter] = {}
    for parameter, _ in refs.values():
        seen.setdefault(id(parameter), parameter)
    return list(seen.values())


def uncovered_matrices(model: nn.Module, refs: dict[str, WeightRef]) -> list[str]:
    """Matrices (2-D or more) of the model's blocks that no prunable weight covers.

    Embeddings, the output head, routers and anything matching :data:`DEFAULT_EXCLUDE`
    are dense on purpose and not listed.
    """
    covered = {id(p) for p in prunable_parameters(refs)}
    embeddings = _embedding_pointers(model)
    left = []
    for name, param in model.named_parameters():
        if param.ndim < 2 or id(param) in covered or param.data_ptr() in embeddings:
            continue
        if any(re.search(p, name) for p in DEFAULT_EXCLUDE):
            continue
        left.append(name)
    return left
