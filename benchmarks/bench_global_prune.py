"""Global 50% magnitude pruning: ours vs torch.nn.utils.prune.global_unstructured.

Each method runs in its own fresh process (peak memory is per process), one torch
thread, on the same randomly initialised gpt2-small-sized model. Prints one JSON line.

    python -m benchmarks.bench_global_prune
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time, torch
sys.path.insert(0, {root!r})
from benchmarks.common import gpt2_small, peak_rss_mb, reset_peak_rss
torch.set_num_threads(1)
model = gpt2_small()
from pruning_lib.prune import Pruner, prunable_weights
weights = prunable_weights(model)
before = reset_peak_rss()
start = time.perf_counter()
if {method!r} == "ours":
    pruner = Pruner(model, scope="global")
    pruner.prune(0.5)
    masks = [pruner.masks[n] for n in weights]
else:
    import torch.nn.utils.prune as prune
    modules = {{n: m for n, m in model.named_modules() if hasattr(m, "weight")
               and f"{{n}}.weight" in weights}}
    prune.global_unstructured([(m, "weight") for m in modules.values()],
                              prune.L1Unstructured, amount=0.5)
    masks = [m.weight_mask.bool() for m in modules.values()]
seconds = time.perf_counter() - start
pruned = sum(int((~m).sum()) for m in masks)
total = sum(m.numel() for m in masks)
print(json.dumps({{"method": {method!r}, "seconds": seconds,
                   "extra_peak_mb": peak_rss_mb() - before, "pruned": pruned, "total": total}}))
"""


def run(method: str, root: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(method=method, root=root)],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "PATH": ""},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    start = time.time()
    ours, torch_ref = run("ours", root), run("torch", root)
    assert ours["pruned"] == torch_ref["pruned"], "both must prune the same count"
    print(
        json.dumps(
            {
                "benchmark": "global 50% magnitude pruning, gpt2-small-sized, 1 thread",
                "prunable_weights": ours["total"],
                "ours_s": round(ours["seconds"], 2),
                "torch_s": round(torch_ref["seconds"], 2),
                "speedup": round(torch_ref["seconds"] / ours["seconds"], 1),
                "ours_extra_peak_mb": round(ours["extra_peak_mb"]),
                "torch_extra_peak_mb": round(torch_ref["extra_peak_mb"]),
                "memory_ratio": round(ours["extra_peak_mb"] / torch_ref["extra_peak_mb"], 3),
                "wall_s": round(time.time() - start),
            }
        )
    )


if __name__ == "__main__":
    main()
