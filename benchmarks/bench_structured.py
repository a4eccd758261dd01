"""Structured pruning on a gpt2-small-sized model: latency, tokens per second, file size and
peak memory of the transformer blocks with 0, 25 and 50% of the MLP neurons removed.

The blocks are timed alone (``model.transformer``: embeddings, 12 blocks, final norm; the
output head aside), on a 128-token prompt, one thread. The bar: the measured speed-up of the
blocks is at least 0.85 times the ratio of their multiply-adds. File sizes: the dense file,
the dense file gzipped, the sparse encoding of 50% unstructured pruning, the structured model.

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

from benchmarks.common import gpt2_small, peak_rss_mb, reset_peak_rss
from pruning_lib import Pruner
from pruning_lib.efficiency import save_sparse
from pruning_lib.structured import shrink_mlp

TOKENS = 128
OUT = Path(__file__).resolve().parent / "results"


def block_macs(config, tokens: int, inner: int) -> int:
    """Multiply-adds of the blocks for one prompt: q, k, v and output projections, the two
    attention matmuls (causal masking ignored), and the MLP's two projections."""
    d, layers = config.n_embd, config.n_layer
    per_layer = 4 * tokens * d * d + 2 * tokens * tokens * d + 2 * tokens * d * inner
    return layers * per_layer


@torch.no_grad()
def time_blocks(model, ids, repeats: int = 15) -> float:
    for _ in range(3):
        model.transformer(input_ids=ids)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.transformer(input_ids=ids)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def file_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def main() -> None:
    torch.set_num_threads(1)
    ids = torch.randint(0, 50257, (1, TOKENS), generator=torch.Generator().manual_seed(0))
    rows = []
    dense_time = dense_macs = None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for fraction in (0.0, 0.25, 0.5):
            model = gpt2_small().eval()
            if fraction:
                shrink_mlp(model, fraction)
            inner = model.config.n_inner or 4 * model.config.n_embd
            reset_peak_rss()
            base = peak_rss_mb()
            seconds = time_blocks(model, ids)
            peak = peak_rss_mb() - base
            folder = tmp / f"structured-{fraction}"
            model.save_pretrained(folder)
            macs = block_macs(model.config, TOKENS, inner)
            dense_time = dense_time or seconds
            dense_macs = dense_macs or macs
            row = {
                "mlp_neurons_removed": fraction,
                "inner": inner,
                "blocks_ms": round(seconds * 1e3, 1),
                "tokens_per_s": round(TOKENS / seconds, 1),
                "speedup": round(dense_time / seconds, 3),
                "mac_ratio": round(dense_macs / macs, 3),
                "file_mb": round(file_mb(folder / "model.safetensors"), 1),
                "forward_peak_extra_mb": round(peak, 1),
            }
            row["speedup_over_mac_ratio"] = round(row["speedup"] / row["mac_ratio"], 3)
            rows.append(row)
            print(json.dumps(row))
        dense_file = tmp / "structured-0.0" / "model.safetensors"
        gz = tmp / "dense.safetensors.gz"
        with open(dense_file, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
        pruned = gpt2_small()
        Pruner(pruned).prune_magnitude(0.5)
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
        }
    print(json.dumps({"file_mb": sizes}))
    OUT.mkdir(exist_ok=True)
    target = OUT / "structured.json"
    tmp_json = OUT / ".structured.json.tmp"
    tmp_json.write_text(json.dumps({"rows": rows, "file_mb": sizes}, indent=1) + "\n")
    tmp_json.replace(target)


if __name__ == "__main__":
    main()
