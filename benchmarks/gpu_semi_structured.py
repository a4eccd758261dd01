"""2:4 semi-structured sparsity on a GPU: matmul and end-to-end speed-ups, outputs checked.

``torch.sparse.to_sparse_semi_structured`` has kernels only on CUDA (Ampere or newer): on a CPU
a 2:4 mask is only a mask, as fast as the dense model. Run where a GPU is lent:

    .venv/bin/python -m benchmarks.gpu_semi_structured

It builds a gpt2-small-sized Llama-style model (768 wide, 12 layers, fp16, random weights),
prunes every block matrix 2:4 with ``Pruner.prune_pattern(NM(2, 4))``, then (1) times one
matmul per block shape dense against semi-structured at 128 and 2048 tokens, (2) swaps every
block ``nn.Linear`` weight for its semi-structured form and times a 2048-token forward pass,
and (3) checks the logits against the masked dense model. Prints one JSON line per figure.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import torch
from torch import nn


def cuda_time(fn, repeats: int = 50, warmup: int = 10) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    if not torch.cuda.is_available():
        print(
            "gpu_semi_structured: no CUDA device; 2:4 kernels exist only on CUDA", file=sys.stderr
        )
        return 2
    from torch.sparse import to_sparse_semi_structured
    from transformers import LlamaConfig, LlamaForCausalLM

    from benchmarks.common import write_result
    from pruning_lib import NM, Pruner

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_key_value_heads=12,
        vocab_size=32000,
    )
    model = LlamaForCausalLM(config).half().cuda().eval()
    pruner = Pruner(model)
    pruner.prune_pattern(NM(2, 4))
    matmuls = []
    for tokens in (128, 2048):
        for shape in ((768, 768), (3072, 768), (768, 3072)):
            weight = torch.randn(shape, device="cuda", dtype=torch.half)
            mask = NM(2, 4).masks({"w": weight.abs().float()}, {"w": 1})["w"]
            weight = weight * mask
            sparse = to_sparse_semi_structured(weight)
            x = torch.randn(shape[1], tokens, device="cuda", dtype=torch.half)
            dense_s = cuda_time(lambda w=weight, x=x: w @ x)
            sparse_s = cuda_time(lambda w=sparse, x=x: w @ x)
            same = torch.allclose(sparse @ x, weight @ x, atol=1e-2, rtol=1e-2)
            figure = {"matmul": list(shape), "tokens": tokens, "speedup": dense_s / sparse_s}
            print(json.dumps({**figure, "outputs_match": same}))
            matmuls.append({**figure, "outputs_match": same})
    ids = torch.randint(0, 32000, (1, 2048), device="cuda")
    with torch.no_grad():
        reference = model(input_ids=ids).logits.float()
        dense_s = cuda_time(lambda: model(input_ids=ids), repeats=10, warmup=3)
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear) and name.startswith("model.layers."):
                module.weight = nn.Parameter(to_sparse_semi_structured(module.weight))
        sparse_s = cuda_time(lambda: model(input_ids=ids), repeats=10, warmup=3)
        logits = model(input_ids=ids).logits.float()
    error = (logits - reference).abs().max().item()
    end_to_end = {"end_to_end_tokens": 2048, "speedup": dense_s / sparse_s, "max_abs": error}
    print(json.dumps(end_to_end))
    device = torch.cuda.get_device_name()
    write_result(
        "gpu_semi_structured", {"device": device, "matmuls": matmuls, "end_to_end": end_to_end}
    )  # notebook 10 shows it once it exists
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
