"""Honest efficiency figures: parameter counts, bytes on disk, measured latency.

A pruned model stored densely is exactly as large and, on dense kernels, exactly as
slow as before: zeros are still stored and still multiplied. Only an encoding that
skips the zeros makes the file smaller; here a lossless one, a bitmask of the kept
positions plus the kept values (so at 50% fp32 sparsity: 1/32 + 1/2 of the bytes).

Example:
    >>> import torch
    >>> w = torch.tensor([[0.0, 1.5], [0.0, -2.0]])
    >>> bits, values = sparse_encode(w)
    >>> values.tolist(), torch.equal(sparse_decode(bits, values, w.shape), w)
    ([1.5, -2.0], True)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .weights import prunable_parameters, prunable_refs, prunable_weights


def parameter_counts(model: nn.Module, weights: dict[str, torch.Tensor] | None = None) -> dict:
    """Total, prunable and non-zero parameter counts (our nparams counts non-zeros; the
    paper's nparams column is (1 - pr) x total).

    ``nonzero`` counts every parameter that is not zero (shared tensors once). The paper's
    855M / 665M / 475M of 950M are (1 - pr) x all parameters instead: they count the
    embeddings as pruned too, which our layer-wise pruning leaves dense.
    """
    weights = weights if weights is not None else prunable_weights(model)
    params = {p.data_ptr(): p for p in model.parameters()}.values()  # tied weights once
    total = sum(p.numel() for p in params)
    nonzero = sum(int(torch.count_nonzero(p)) for p in params)
    prunable = sum(w.numel() for w in weights.values())
    prunable_nonzero = sum(int(torch.count_nonzero(w)) for w in weights.values())
    return {
        "total": total,
        "nonzero": nonzero,
        "prunable": prunable,
        "prunable_nonzero": prunable_nonzero,
        "sparsity": 1 - prunable_nonzero / prunable if prunable else 0.0,
    }


def sparse_encode(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(packed bitmask of non-zero positions as uint8, the non-zero values in order)."""
    flat = tensor.detach().flatten().cpu()
    keep = flat != 0
    bits = torch.from_numpy(np.packbits(keep.numpy()))
    return bits, flat[keep].clone()


def sparse_decode(bits: torch.Tensor, values: torch.Tensor, shape) -> torch.Tensor:
    """Inverse of :func:`sparse_encode`."""
    n = int(np.prod(shape))
    keep = torch.from_numpy(np.unpackbits(bits.numpy(), count=n).astype(bool))
    out = torch.zeros(n, dtype=values.dtype)
    out[keep] = values
    return out.view(*shape)


def save_sparse(model: nn.Module, path: str | Path, weights: dict | None = None) -> Path:
    """Save the model's state with prunable weights sparse-encoded (safetensors, atomic)."""
    path = Path(path)
    if weights is None:  # an expert stack is encoded whole, as the 3-D tensor it is
        weights = dict(enumerate(prunable_parameters(prunable_refs(model))))
    pruned_ptrs = {w.data_ptr() for w in weights.values()}
    tensors: dict[str, torch.Tensor] = {}
    metadata: dict[str, str] = {}
    seen: set[int] = set()
    for name, tensor in model.state_dict().items():
        ptr = tensor.data_ptr()
        if ptr in seen:  # a tied weight is stored once
            continue
        seen.add(ptr)
        if ptr in pruned_ptrs:
            bits, values = sparse_encode(tensor)
            tensors[f"{name}::bits"] = bits
            tensors[f"{name}::values"] = values
            metadata[name] = ",".join(str(d) for d in tensor.shape)
        else:
            tensors[name] = tensor.detach().cpu().contiguous()
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(path)
    return path


def load_sparse(path: str | Path) -> dict[str, torch.Tensor]:
    """The dense state dict back from :func:`save_sparse` (tied weights appear once)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata() or {}
    tensors = load_file(str(path))
    state: dict[str, torch.Tensor] = {}
    for name, tensor in tensors.items():
        if name.endswith("::bits"):
            base = name[: -len("::bits")]
            shape = [int(d) for d in metadata[base].split(",")]
            state[base] = sparse_decode(tensor, tensors[f"{base}::values"], shape)
        elif not name.endswith("::values"):
            state[name] = tensor
    return state


def size_report(model: nn.Module, weights: dict | None = None) -> dict[str, int]:
    """Bytes of the prunable weights dense vs sparse-encoded, computed without writing."""
    weights = weights if weights is not None else prunable_weights(model)
    dense = sparse = 0
    for w in weights.values():
        size = w.element_size()
        dense += w.numel() * size
        sparse += (w.numel() + 7) // 8 + int(torch.count_nonzero(w)) * size
    return {"prunable_dense_bytes": dense, "prunable_sparse_bytes": sparse}


@torch.no_grad()
def measure_latency(
    model: nn.Module, input_ids: torch.Tensor, repeats: int = 20, warmup: int = 3
) -> dict[str, float]:
    """Forward-pass wall time in seconds: median and spread over ``repeats`` runs."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r} is out of range; allowed: [1, inf)")
    device = next(model.parameters()).device
    input_ids = input_ids.to(device)
    was_training = model.training
    model.eval()
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        model(input_ids=input_ids)
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        model(input_ids=input_ids)
        synchronize()
        times.append(time.perf_counter() - start)
    model.train(was_training)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
    }
