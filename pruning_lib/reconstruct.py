"""Reconstruction after the mask: SparseGPT's idea, with the mask held fixed.

Pruning zeroes weights; the weights it keeps were trained beside the ones it removed and no
longer give the same outputs. Given calibration inputs ``X`` (tokens x in) of a layer, the
kept weights of each output row can be set to what reproduces the dense row's outputs best:

    min over w_K of || X_K w_K - X w ||^2    =>    w_K = (H_KK + lambda I)^-1 H_K: w,

with ``H = X^T X`` (the layer's Hessian of the squared output error, as SparseGPT calls it)
and ``K`` the row's kept inputs. Frantar and Alistarh (SparseGPT, 2023) choose the mask and
update the weights together, column by column, with one inverse Hessian for all rows; this
module keeps the mask that magnitude, Wanda or an N:M pattern chose and solves each row
exactly, which is the least-squares optimum SparseGPT approximates (``damp``: the same
dampening, ``lambda = damp * mean(diag H)``, SparseGPT's ``percdamp``, for a Hessian that is
singular on few tokens). The layers are reconstructed in model order, each on the inputs it
sees from the layers already pruned and reconstructed (:func:`reconstruct`), so that later
layers correct what earlier ones changed.

Example:
    >>> import torch
    >>> x = torch.tensor([[1.0, 2.0], [3.0, 1.0], [0.0, 1.0]])
    >>> w = torch.tensor([[1.0, 1.0]])  # one output row, two inputs
    >>> mask = torch.tensor([[True, False]])  # keep the first input only
    >>> reconstruct_rows(w, mask, x.T @ x)  # x w = (3, 4, 1) onto (1, 3, 0): 15 / 10
    tensor([[1.5000, 0.0000]])
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .checks import check_number


def reconstruct_rows(
    weight: torch.Tensor, mask: torch.Tensor, hessian: torch.Tensor, damp: float = 0.0
) -> torch.Tensor:
    """The kept weights of each row that best reproduce the row's outputs.

    Args:
        weight: (out, in), the dense weights.
        mask: (out, in) booleans, True where a weight is kept.
        hessian: (in, in), ``X^T X`` over the calibration tokens.
        damp: dampening, a share of the mean diagonal of ``hessian`` added to it.

    Returns:
        (out, in) weights, zero outside ``mask``, each row's kept weights the (damped)
        least-squares solution.
    """
    check_number("damp", damp, 0, 1)
    if weight.shape != mask.shape or hessian.shape != (weight.shape[1], weight.shape[1]):
        raise ValueError(
            f"weight {tuple(weight.shape)}, mask {tuple(mask.shape)} and hessian "
            f"{tuple(hessian.shape)} do not fit: the mask is shaped as the weight (out, in), "
            "the hessian (in, in)"
        )
    w, undamped = weight.double(), hessian.double()
    targets = w @ undamped  # row i: H w_i (H is symmetric): the dense row's outputs
    eye = torch.eye(undamped.shape[0], dtype=undamped.dtype, device=undamped.device)
    h = undamped + damp * undamped.diagonal().mean() * eye
    out = torch.zeros_like(w)
    # Rows that keep the same inputs share one system (every row of an N:M or a
    # whole-column mask, many rows of a magnitude one are unique).
    groups: dict[bytes, list[int]] = {}
    for row in range(w.shape[0]):
        groups.setdefault(mask[row].cpu().numpy().tobytes(), []).append(row)
    for rows in groups.values():
        kept = mask[rows[0]].nonzero().flatten()
        if kept.numel() == 0:
            continue
        system = h[kept][:, kept]
        solved = torch.linalg.solve(system, targets[rows][:, kept].T).T  # (rows, kept)
        out[torch.tensor(rows, device=w.device)[:, None], kept[None, :]] = solved
    return out.to(weight.dtype)


def _owner(model: nn.Module, parameter: torch.Tensor) -> nn.Module:
    for module in model.modules():
        if getattr(module, "weight", None) is parameter:
            return module
    raise ValueError("a prunable weight has no module of its own in the model")


class _Enough(Exception):
    """Raised by the hook once the layer's input is read: the rest of the forward pass is
    not needed (the layers after it cannot change its input)."""


@torch.no_grad()
def layer_inputs_gram(model: nn.Module, module: nn.Module, batches: Iterable) -> torch.Tensor:
    """``X^T X`` of ``module``'s inputs over the calibration ``batches`` (float64). Each
    forward pass stops at ``module``."""
    total: list[torch.Tensor] = []

    def hook(_, inputs):
        x = inputs[0].detach().double()
        x = x.reshape(-1, x.shape[-1])  # (tokens, in)
        gram = x.T @ x
        if total:
            total[0] += gram
        else:
            total.append(gram)
        raise _Enough

    handle = module.register_forward_pre_hook(hook)
    device = next(model.parameters()).device
    try:
        for batch in batches:
            try:
                model(batch.to(device))
            except _Enough:
                pass
    finally:
        handle.remove()
    if not total:
        raise ValueError("calibration data is empty: reconstruction needs batches")
    return total[0]


@torch.no_grad()
def reconstruct(
    pruner, model: nn.Module, batches: list, dense: dict[str, torch.Tensor], damp: float = 0.01
) -> list[dict]:
    """Reconstruct every pruned weight of ``pruner`` in model order, each on the inputs it
    sees from the layers before it, already pruned and reconstructed; the masks are held.

    Args:
        pruner: a ``Pruner`` of ``model`` that has pruned (its ``masks``).
        model: run in eval mode on each batch (token ids for a language model).
        batches: calibration inputs (``scores.calibration_batches``), read once per layer.
        dense: ``{name: weight}`` copied before pruning: each layer is fitted to the dense
            layer's outputs on its new inputs.
        damp: SparseGPT's dampening (``percdamp``), 0.01 by default.

    Returns:
        One row per weight: ``name`` and the relative output error on its calibration
        inputs, ``||X (W' - W)||^2 / ||X W||^2``, with the mask alone (``masked``) and after
        reconstruction (``reconstructed``), ``W`` the dense weight.
    """
    experts = [name for name, (_, index) in pruner.refs.items() if index is not None]
    if experts:
        raise ValueError(f"reconstruction needs each weight's own input; {experts[0]} is one "
                         "expert's matrix inside a fused experts module")  # fmt: skip
    if not pruner.masks:
        raise ValueError("the pruner has no masks: prune first, then reconstruct")
    missing = [name for name in pruner.masks if name not in dense]
    if missing:
        raise ValueError(f"dense={sorted(dense)[:3]}... lacks {missing[0]}: copy every "
                         "prunable weight before pruning")  # fmt: skip
    was_training = model.training
    model.eval()
    rows = []
    try:
        for name, mask in pruner.masks.items():
            parameter, _ = pruner.refs[name]
            axis = pruner.input_axes[name]
            module = _owner(model, parameter)
            hessian = layer_inputs_gram(model, module, batches)
            original = dense[name].to(hessian.device).double()
            weight = original if axis == 1 else original.T  # (out, in)
            keep = (mask if axis == 1 else mask.T).to(weight.device)
            new = reconstruct_rows(weight, keep, hessian, damp)
            errors = {}
            for label, candidate in (("masked", weight * keep), ("reconstructed", new)):
                delta = candidate - weight
                errors[label] = float(
                    torch.einsum("oi,ij,oj->", delta, hessian, delta)
                    / torch.einsum("oi,ij,oj->", weight, hessian, weight)
                )
            parameter.data.copy_((new if axis == 1 else new.T).to(parameter.dtype))
            rows.append({"name": name, **errors})
    finally:
        model.train(was_training)
    return rows
