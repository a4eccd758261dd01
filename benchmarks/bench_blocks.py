"""Whole blocks removed from a gpt2-small-sized model: latency of the blocks, tokens per
second and file size with 0, 1, 3 and 6 of its 12 blocks removed (ShortGPT's structured
pruning; ``pruning_lib.blocks``).

The blocks are timed alone (``model.transformer``: embeddings, the blocks, final norm; the
output head aside), on a 128-token prompt, one thread, the models in turn within each of 15
rounds (medians), as ``bench_structured`` times its models. The bar: the measured speed-up
is at least 0.85 times the ratio of the blocks' multiply-adds (12 / blocks kept). Which
blocks go does not change the time (they are the same size): the last ones are removed.

    .venv/bin/python -m benchmarks.bench_blocks
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from benchmarks.bench_structured import TOKENS, block_macs, file_mb, time_interleaved
from benchmarks.common import gpt2_small, write_result
from pruning_lib.blocks import remove_blocks

REMOVED = (0, 1, 3, 6)


def main() -> None:
    torch.set_num_threads(1)
    ids = torch.randint(0, 50257, (1, TOKENS), generator=torch.Generator().manual_seed(0))
    models = {}
    for count in REMOVED:
        models[count] = gpt2_small().eval()
        layers = models[count].config.n_layer
        remove_blocks(models[count], range(layers - count, layers))
    seconds = time_interleaved(models, ids)
    dense_macs = block_macs(models[0].config, TOKENS, 4 * models[0].config.n_embd)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count, model in models.items():
            folder = Path(tmp) / f"blocks-{count}"
            model.save_pretrained(folder)
            macs = block_macs(model.config, TOKENS, 4 * model.config.n_embd)
            row = {
                "blocks_removed": count,
                "blocks_kept": model.config.n_layer,
                "blocks_ms": round(seconds[count] * 1e3, 1),
                "tokens_per_s": round(TOKENS / seconds[count], 1),
                "speedup": round(seconds[0] / seconds[count], 3),
                "mac_ratio": round(dense_macs / macs, 3),
                "file_mb": round(file_mb(folder / "model.safetensors"), 1),
            }
            row["speedup_over_mac_ratio"] = round(row["speedup"] / row["mac_ratio"], 3)
            rows.append(row)
            print(json.dumps(row))
    write_result("blocks", {"rows": rows})


if __name__ == "__main__":
    main()
