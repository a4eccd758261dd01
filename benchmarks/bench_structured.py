"""Structured pruning on a gpt2-small-sized model: latency, tokens per second, file size and
weight memory of the transformer blocks with 0, 25, 50, 75 and 87.5% of the MLP neurons removed
(75% removes as many parameters as unstructured 0.5 of the prunable weights).

The blocks are timed alone (``model.transformer``: embeddings, 12 blocks, final norm; the
output head aside), on a 128-token prompt, one thread, the five models in turn within each
of 15 rounds (medians), so that load on the other core slows them alike. The bar: the
measured speed-up of the blocks is at least 0.85 times the ratio of their multiply-adds.
File sizes: the dense file, the dense file gzipped, the sparse encoding of 50% unstructured
pruning, the structured models.

    .venv/bin/python -m benchmarks.bench_structured
"""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import gpt2_small, write_result
from pruning_lib import Pruner
from pruning_lib.efficiency import save_sparse
from pruning_lib.structured import shrink_mlp

TOKENS = 128


def block_macs(config, tokens: int, inner: int) -> int:
    """Multiply-adds of the blocks for one prompt: q, k, v and output projections, the two
    attention matmuls (causal masking ignored), and the MLP's two projections."""
    d, layers = config.n_embd, config.n_layer
    per_layer = 4 * tokens * d * d + 2 * tokens * tokens * d + 2 * tokens * d * inner
    return layers * per_layer


FRACTIONS = (0.0, 0.25, 0.5, 0.75, 0.875)
ROUNDS = 15


@torch.no_grad()
def time_interleaved(models: dict, ids, rounds: int = ROUNDS) -> dict:
    """Median seconds of one blocks pass per model, the models timed in turn within each
    round, so that a busy second core slows them all alike instead of one of them."""
    for model in models.values():
        for _ in range(2):
            model.transformer(input_ids=ids)
    times = {key: [] for key in models}
    for _ in range(rounds):
        for key, model in models.items():
            start = time.perf_counter()
            model.transformer(input_ids=ids)
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def file_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def main() -> None:
    torch.set_num_threads(1)
    ids = torch.randint(0, 50257, (1, TOKENS), generator=torch.Generator().manual_seed(0))
    rows = []
    models = {}
    for fraction in FRACTIONS:
        models[fraction] = gpt2_small().eval()
        if fraction:
            shrink_mlp(models[fraction], fraction)
    seconds = time_interleaved(models, ids)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dense_macs = block_macs(models[0.0].config, TOKENS, 4 * models[0.0].config.n_embd)
        for fraction, model in models.items():
            inner = model.config.n_inner or 4 * model.config.n_embd
            folder = tmp / f"structured-{fraction}"
            model.save_pretrained(folder)
            macs = block_macs(model.config, TOKENS, inner)
            row = {
                "mlp_neurons_removed": fraction,
                "inner": inner,
                "blocks_ms": round(seconds[fraction] * 1e3, 1),
                "tokens_per_s": round(TOKENS / seconds[fraction], 1),
                "speedup": round(seconds[0.0] / seconds[fraction], 3),
                "mac_ratio": round(dense_macs / macs, 3),
                "file_mb": round(file_mb(folder / "model.safetensors"), 1),
                # Memory: the weights dominate; one 128-token prompt's activations are a few MB.
                "weights_mb": round(
                    sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6, 1
                ),
            }
            row["speedup_over_mac_ratio"] = round(row["speedup"] / row["mac_ratio"], 3)
            rows.append(row)
            print(json.dumps(row))
        dense_file = tmp / "structured-0.0" / "model.safetensors"
        gz = tmp / "dense.safetensors.gz"
        with open(dense_file, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
        pruned = gpt2_small()
        Pruner(pruned).prune(0.5)
        sparse_file = save_sparse(pruned, tmp / "sparse.safetensors")
        pruned_gz = tmp / "pruned-dense.safetensors.gz"
        pruned.save_pretrained(tmp / "pruned-dense")
        with (
            open(tmp / "pruned-dense" / "model.safetensors", "rb") as src,
            gzip.open(pruned_gz, "wb", compresslevel=6) as dst,
        ):
            shutil.copyfileobj(src, dst)
        sizes = {
            "dense": round(file_mb(dense_file), 1),
            "dense_gzip": round(file_mb(gz), 1),
            "unstructured_50_dense_file": round(
                file_mb(tmp / "pruned-dense" / "model.safetensors"), 1
            ),
            "unstructured_50_dense_file_gzip": round(file_mb(pruned_gz), 1),
            "unstructured_50_sparse_encoding": round(file_mb(sparse_file), 1),
            "structured_25": rows[1]["file_mb"],
            "structured_50": rows[2]["file_mb"],
            "structured_75": rows[3]["file_mb"],
            "structured_87.5": rows[4]["file_mb"],
        }
    print(json.dumps({"file_mb": sizes}))
    write_result("structured", {"rows": rows, "file_mb": sizes})


if __name__ == "__main__":
    main()
