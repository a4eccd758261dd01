"""A masked fine-tuning step vs a dense step, median of interleaved runs.

The same gpt2-small-sized model, optimizer and batch; the masked run calls the
Pruner's hooks (mask gradients after backward, re-apply masks after the step) at 50%
global sparsity. Steps alternate dense / masked so that machine noise hits both.

    python -m benchmarks.bench_masked_step [--repeats 7] [--batch 8] [--block 128]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from benchmarks.common import gpt2_small
from pruning_lib.prune import Pruner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed steps of each kind")
    parser.add_argument("--batch", type=int, default=8, help="sequences per step")
    parser.add_argument("--block", type=int, default=128, help="tokens per sequence")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = gpt2_small()
    pruner = Pruner(model, scope="global")
    pruner.prune(0.5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    batch = torch.randint(
        0, 50257, (args.batch, args.block), generator=torch.Generator().manual_seed(0)
    )

    def step(masked: bool) -> float:
        start = time.perf_counter()
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        if masked:
            pruner.after_backward(model)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if masked:
            pruner.after_step(0)
        return time.perf_counter() - start

    step(True), step(False)  # warm-up
    dense, masked = [], []
    for _ in range(args.repeats):
        dense.append(step(False))
        masked.append(step(True))
    print(
        json.dumps(
            {
                "benchmark": "fine-tuning step, gpt2-small-sized, 50% global masks, 1 thread",
                "batch": [args.batch, args.block],
                "dense_median_s": round(statistics.median(dense), 3),
                "masked_median_s": round(statistics.median(masked), 3),
                "ratio": round(statistics.median(masked) / statistics.median(dense), 4),
                "repeats": args.repeats,
            }
        )
    )


if __name__ == "__main__":
    main()
