"""Sparse kernels (torch.sparse CSR) against dense matmul on gpt2-small's matrix shapes.

For one-token decoding (1 x in) and a 128-token prompt (128 x in), at 50 to 99% unstructured
sparsity: the median time of ``W @ x.T`` dense and with W in CSR, one thread. Prints one JSON
line per shape and a summary with the break-even sparsity (the lowest measured sparsity at
which CSR is faster), and writes ``pruning_lib/study/reference/benchmarks/sparse_kernels.json``
and ``benchmarks/results/sparse_kernels.png``.

    .venv/bin/python -m benchmarks.bench_sparse_kernels
"""

from __future__ import annotations

import json
import statistics
import time
from functools import partial
from pathlib import Path

import torch

from benchmarks.common import write_result

SHAPES = {  # (out, in) of gpt2-small's matrices, as nn.Linear stores them
    "attn.c_attn": (2304, 768),
    "attn.c_proj": (768, 768),
    "mlp.c_fc": (3072, 768),
    "mlp.c_proj": (768, 3072),
}
SPARSITIES = (0.5, 0.7, 0.9, 0.95, 0.99)
TOKENS = (1, 128)
OUT = Path(__file__).resolve().parent / "results"


def median_time(fn, repeats: int = 30, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sparse_weight(shape, sparsity: float, generator) -> torch.Tensor:
    weight = torch.randn(shape, generator=generator)
    threshold = weight.abs().flatten().kthvalue(max(1, round(sparsity * weight.numel()))).values
    return weight * (weight.abs() > threshold)


def main() -> None:
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for name, shape in SHAPES.items():
        for tokens in TOKENS:
            x = torch.randn(shape[1], tokens, generator=generator)  # (in, tokens)
            for sparsity in SPARSITIES:
                weight = sparse_weight(shape, sparsity, generator)
                csr = weight.to_sparse_csr()
                dense_s = median_time(partial(torch.matmul, weight, x))
                sparse_s = median_time(partial(torch.matmul, csr, x))
                assert torch.allclose(csr @ x, weight @ x, atol=1e-3)
                row = {
                    "matrix": name,
                    "shape": list(shape),
                    "tokens": tokens,
                    "sparsity": sparsity,
                    "dense_ms": round(dense_s * 1e3, 4),
                    "csr_ms": round(sparse_s * 1e3, 4),
                    "speedup": round(dense_s / sparse_s, 3),
                }
                rows.append(row)
                print(json.dumps(row))
    summary = {}
    for tokens in TOKENS:
        for name in SHAPES:
            faster = [
                r["sparsity"]
                for r in rows
                if r["tokens"] == tokens and r["matrix"] == name and r["speedup"] > 1
            ]
            summary[f"{name} x{tokens}"] = min(faster) if faster else None
    print(json.dumps({"break_even_sparsity": summary}))
    write_result("sparse_kernels", {"rows": rows, "break_even": summary})
    OUT.mkdir(exist_ok=True)
    plot(rows)


def plot(rows) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TOKENS), figsize=(11, 4), sharey=True)
    for ax, tokens in zip(axes, TOKENS):
        for name in SHAPES:
            points = [r for r in rows if r["tokens"] == tokens and r["matrix"] == name]
            ax.plot(
                [r["sparsity"] for r in points], [r["speedup"] for r in points], "o-", label=name
            )
        ax.axhline(1.0, color="gray", linestyle="--", label="break-even")
        ax.set_yscale("log")
        ax.set_xlabel("sparsity")
        ax.set_title(f"CSR vs dense, {tokens} token{'s' if tokens > 1 else ''}, one thread")
    axes[0].set_ylabel("speed-up of CSR (dense time / CSR time)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "sparse_kernels.png", dpi=110)


if __name__ == "__main__":
    main()
