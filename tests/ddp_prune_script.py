"""Run under `accelerate launch --multi_gpu --num_processes 2` on CPUs: prune while training.

Each rank writes its final weights and masks to OUT/rank<k>.safetensors.
"""

import sys
from pathlib import Path

import torch
from accelerate import PartialState
from safetensors.torch import save_file

from pruning_lib.config import TrainConfig
from pruning_lib.prune import Pruner
from pruning_lib.schedules import Schedule
from pruning_lib.study.configs import ModelConfig
from pruning_lib.study.model import small_gpt
from pruning_lib.training.finetune import train


def main() -> None:
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = small_gpt(ModelConfig(vocab_size=400, n_layer=2, n_head=2, n_embd=32, block_size=32))
    stream = torch.randint(1, 400, (4000,), generator=torch.Generator().manual_seed(0))
    schedule = Schedule("cubic", 0.0, 0.5, begin_step=2, end_step=10, frequency=3)
    pruner = Pruner(model, schedule=schedule)
    config = TrainConfig(steps=14, batch_size=4, learning_rate=1e-2, warmup_steps=0, log_every=7)
    train(model, stream, config, block_size=32, hooks=pruner, progress=False, device="cpu")
    state = PartialState()  # initialised by the loop's Accelerator (gloo on CPUs)
    tensors = {f"weight::{k}": v.detach().clone() for k, v in model.state_dict().items()}
    tensors.update({f"mask::{k}": m.to(torch.uint8) for k, m in pruner.masks.items()})
    tensors["sparsity"] = torch.tensor([pruner.sparsity()], dtype=torch.float64)
    tensors["processes"] = torch.tensor([state.num_processes])
    save_file(tensors, str(out / f"rank{state.process_index}.safetensors"))


if __name__ == "__main__":
    main()
