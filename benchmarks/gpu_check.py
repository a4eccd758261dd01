"""GPU check: fine-tune the small GPT with a cubic schedule on CUDA in bf16.

Reports the final sparsity (must equal the target exactly) and training throughput.
Run where a GPU is available (CI has none):

    python -m benchmarks.gpu_check [--steps 300] [--precision bf16]
"""

from __future__ import annotations

import argparse
import json

import torch

from pruning_lib.config import TrainConfig
from pruning_lib.evaluation.data import token_stream
from pruning_lib.prune import Pruner
from pruning_lib.schedules import Schedule
from pruning_lib.study.configs import ModelConfig, WorldConfig
from pruning_lib.study.model import small_gpt, train_tokenizer
from pruning_lib.study.toyworld import generate
from pruning_lib.training.finetune import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps")
    parser.add_argument("--precision", choices=["bf16", "fp16", "no"], default="bf16")
    parser.add_argument("--batch", type=int, default=64, help="sequences per step")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_check: torch sees no GPU")
    world = generate(WorldConfig())
    tokenizer = train_tokenizer(world.train_documents, ModelConfig().vocab_size)
    torch.manual_seed(0)
    model = small_gpt(ModelConfig(), vocab_size=len(tokenizer))
    stream = token_stream(tokenizer, world.train_documents)
    schedule = Schedule("cubic", 0.0, 0.5, begin_step=0, end_step=args.steps * 2 // 3, frequency=10)
    pruner = Pruner(model, schedule=schedule)
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch,
        mixed_precision=args.precision,
        learning_rate=3e-3,
        warmup_steps=20,
        log_every=50,
    )
    result = train(
        model, stream, config, block_size=128, hooks=pruner, device="cuda", progress=False
    )
    rows = pruner.report()
    exact = all(r["total"] - r["nonzero"] == round(0.5 * r["total"]) for r in rows[:-1])
    print(
        json.dumps(
            {
                "device": torch.cuda.get_device_name(0),
                "precision": args.precision,
                "steps": args.steps,
                "final_sparsity": round(pruner.sparsity(), 6),
                "every_layer_exactly_at_target": exact,
                "tokens_per_second": round(result.tokens_per_second),
                "final_loss": round(result.history[-1]["loss"], 4),
                "weights_on": str(next(model.parameters()).device),
            }
        )
    )


if __name__ == "__main__":
    main()
