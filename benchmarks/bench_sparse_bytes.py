"""Bytes of the prunable weights (fp32) dense vs sparse-encoded at 50%, and a round trip.

python -m benchmarks.bench_sparse_bytes
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from benchmarks.common import gpt2_small
from pruning_lib.efficiency import load_sparse, save_sparse, size_report
from pruning_lib.prune import Pruner


def main() -> None:
    torch.set_num_threads(1)
    model = gpt2_small()
    Pruner(model, scope="global").prune(0.5)
    sizes = size_report(model)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_sparse(model, Path(tmp) / "sparse.safetensors")
        model.save_pretrained(Path(tmp) / "dense")
        sparse_file = path.stat().st_size
        dense_file = (Path(tmp) / "dense" / "model.safetensors").stat().st_size
        state = load_sparse(path)
        exact = all(
            torch.equal(state[name], tensor)
            for name, tensor in model.state_dict().items()
            if name in state
        )
    print(
        json.dumps(
            {
                "benchmark": "sparse encoding at 50%, gpt2-small-sized, fp32",
                "prunable_dense_mb": round(sizes["prunable_dense_bytes"] / 1e6, 1),
                "prunable_sparse_mb": round(sizes["prunable_sparse_bytes"] / 1e6, 1),
                "ratio": round(sizes["prunable_sparse_bytes"] / sizes["prunable_dense_bytes"], 4),
                "whole_file_dense_mb": round(dense_file / 1e6, 1),
                "whole_file_sparse_mb": round(sparse_file / 1e6, 1),
                "round_trip_exact": exact,
            }
        )
    )


if __name__ == "__main__":
    main()
