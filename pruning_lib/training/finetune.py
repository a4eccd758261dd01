"""The training loop, written out so a reader can follow it, on Hugging Face Accelerate.

One loop serves the baseline, fine-tuning after pruning, gradual pruning on a schedule
and L1 regularization. Pruning plugs in through :class:`TrainHooks`:

- ``penalty(model)``: a term added to the loss (the L1 penalty);
- ``batch_penalty(input_ids, logits)``: a term from the batch (distillation);
- ``before_step(step)``: before the forward pass (a schedule prunes here);
- ``after_backward(model)``: after gradients are complete (masks zero them);
- ``after_step(step)``: after the optimizer step (masks zero the weights again, so
  AdamW momentum cannot revive a pruned weight).

Accelerate picks the device, runs bf16/fp16 autocast on a GPU, and under
``accelerate launch`` spreads the loop over several processes with no code change:
every rank draws the same global batch and takes its own slice of it, so the result
does not depend on the number of processes.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from tqdm import tqdm

from ..config import TrainConfig, validate
from ..hooks import TrainHooks


def sample_batch(
    stream: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator
) -> torch.Tensor:
    """``batch_size`` random windows of ``block_size`` tokens from the stream.  # (B, T)"""
    if len(stream) <= block_size:
        raise ValueError(
            f"the corpus has {len(stream)} tokens, fewer than block_size={block_size} + 1"
        )
    starts = torch.randint(0, len(stream) - block_size, (batch_size,), generator=generator)
    return torch.stack([stream[s : s + block_size] for s in starts.tolist()])


@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)  # {"step", "loss", "lr"}
    steps: int = 0
    tokens: int = 0  # tokens seen by all processes together
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def make_accelerator(config: TrainConfig, device: str = "auto") -> Accelerator:
    """An Accelerator for ``config``; mixed precision only where a GPU runs."""
    use_cpu = device == "cpu" or not torch.cuda.is_available()
    precision = "no" if use_cpu else config.mixed_precision
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision", precision) != precision:
        # Accelerate keeps one global state; a single process may rebuild it with new
        # settings (a notebook that fine-tunes in bf16 after a fp32 baseline).
        if state.get("num_processes", 1) == 1:
            AcceleratorState._reset_state(reset_partial_state=True)
    return Accelerator(mixed_precision=precision, cpu=use_cpu)


class LocalAccelerator:
    """The few Accelerator methods the loop uses, for one process whatever the launcher.

    The baseline is trained on one process even under ``accelerate launch`` (rank 0 trains
    it while the others wait): wrapping it in DDP there would wait for ranks that never come.
    """

    process_index, num_processes, is_main_process = 0, 1, True

    def __init__(self, device: str = "auto", mixed_precision: str = "no"):
        cuda = device != "cpu" and torch.cuda.is_available()
        self.device = torch.device("cuda" if cuda else "cpu")
        dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
        self.dtype = dtypes.get(mixed_precision) if cuda else None
        self.scaler = torch.amp.GradScaler("cuda") if self.dtype == torch.float16 else None

    def prepare(self, model, optimizer):
        self.optimizer = optimizer
        if self.scaler is not None:  # fp16: scaled steps, as Accelerate's prepared optimizer
            optimizer = _ScaledOptimizer(optimizer, self.scaler)
        return model.to(self.device), optimizer

    def no_sync(self, model):
        return nullcontext()

    def autocast(self):
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss):
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def clip_grad_norm_(self, parameters, max_norm):
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    def unwrap_model(self, model):
        return model


class _ScaledOptimizer:
    """An optimizer whose ``step`` goes through an fp16 gradient scaler (the rest is the
    optimizer's own)."""

    def __init__(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler):
        self.optimizer, self.scaler = optimizer, scaler

    def step(self) -> None:
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def __getattr__(self, name: str):
        return getattr(self.optimizer, name)


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` of the peak."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return config.learning_rate * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not on biases, norms or embeddings)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_embedding = "wte" in name or "wpe" in name or "embed" in name
        (decay if param.ndim == 2 and not is_embedding else no_decay).append(param)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.95))


def train(
    model: torch.nn.Module,
    stream: torch.Tensor,
    config: TrainConfig,
    block_size: int,
    hooks: TrainHooks | None = None,
    device: str = "auto",
    progress: bool = True,
    accelerator: Accelerator | None = None,
) -> TrainResult:
    """Train ``model`` for ``config.steps`` optimizer steps on random windows of ``stream``.

    Args:
        model: a causal LM that returns ``.loss`` when given ``labels``.
        stream: the 1-D token stream (``pruning_lib.evaluation.data.token_stream``).
        config: steps, batch size, learning rate... (validated first).
        block_size: tokens per training window.
        hooks: pruning and regularization seams (see module docstring).
        device: ``auto``, ``cpu`` or ``cuda``.
        progress: show a tqdm bar.

    Returns:
        A :class:`TrainResult` with the loss history; the model is trained in place.
    """
    validate(config)
    hooks = hooks or TrainHooks()
    hooks.before_training(config)
    accelerator = accelerator or make_accelerator(config, device)
    optimizer = make_optimizer(model, config)
    prepared_model, optimizer = accelerator.prepare(model, optimizer)
    hooks.bind(optimizer)
    generator = torch.Generator().manual_seed(config.seed)
    rank, world = accelerator.process_index, accelerator.num_processes
    global_batch = config.batch_size * world
    result = TrainResult()
    running, counted = 0.0, 0
    start = time.perf_counter()
    prepared_model.train()
    bar = tqdm(
        range(config.steps),
        disable=not progress or not accelerator.is_main_process,
        desc="train",
        leave=False,
    )
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        hooks.before_step(step)
        for micro in range(config.grad_accum_steps):
            # Every rank draws the same global batch, then keeps its own rows.
            batch = sample_batch(stream, global_batch, block_size, generator)  # (B*W, T)
            batch = batch[rank * config.batch_size : (rank + 1) * config.batch_size]
            batch = batch.to(accelerator.device)
            last = micro == config.grad_accum_steps - 1
            context = accelerator.no_sync(prepared_model) if not last else nullcontext()
            with context, accelerator.autocast():
                outputs = prepared_model(input_ids=batch, labels=batch)
                loss = outputs.loss
                penalty = hooks.penalty(accelerator.unwrap_model(prepared_model))
                taught = hooks.batch_penalty(batch, outputs.logits)
                total = loss
                for term in (penalty, taught):
                    total = total if term is None else total + term
                accelerator.backward(total / config.grad_accum_steps)
            running += loss.detach().float().item()
            counted += 1
        hooks.after_backward(accelerator.unwrap_model(prepared_model))
        if config.max_grad_norm > 0:
            accelerator.clip_grad_norm_(prepared_model.parameters(), config.max_grad_norm)
        optimizer.step()  # a prepared optimizer scales fp16 gradients itself
        optimizer.zero_grad(set_to_none=True)
        hooks.after_step(step)
        result.tokens += global_batch * block_size * config.grad_accum_steps
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            mean = running / max(counted, 1)
            result.history.append({"step": step + 1, "loss": mean, "lr": lr_at(step, config)})
            bar.set_postfix(loss=f"{mean:.3f}")
            running, counted = 0.0, 0
    result.steps = config.steps
    result.seconds = time.perf_counter() - start
    prepared_model.eval()
    return result
