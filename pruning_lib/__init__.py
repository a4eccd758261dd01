"""pruning-lib: magnitude pruning for Hugging Face causal LMs, taught and reproduced.

Reproduces arXiv 2310.04573 ("Can pruning make Large Language Models more
efficient?"): threshold, rate (layer-wise and global), schedules, L1 regularization
and fine-tuning with masks held, evaluated on the paper's six tasks.

The pruning core (``Pruner``, the mask functions, schedules, the hook protocol) imports
torch and safetensors only; ``train`` and ``TrainConfig`` load the training loop
(Accelerate) when first used.

Importing it changes no process state. ``pin_cpu_kernels()`` (which the study calls) picks
torch's AVX2 CPU kernels on x86, so that CPU results are the same bit for bit on machines
with and without AVX-512 (``_cpu.py``).
"""

from ._cpu import cpu_kernels, pin_cpu_kernels
from .hooks import HookList, TrainHooks
from .patterns import NM, RowWise, Units
from .prune import Pruner, prunable_weights, sparsity_report
from .schedules import Schedule
from .selection import (
    MagnitudeScores,
    magnitude_masks,
    rate_to_sparsity,
    select_masks,
    sparsity_to_rate,
    std_threshold,
    threshold_mask,
)

__all__ = [
    "cpu_kernels",
    "pin_cpu_kernels",
    "HookList",
    "L1Penalty",
    "MagnitudeScores",
    "NM",
    "Pruner",
    "RowWise",
    "Schedule",
    "TrainConfig",
    "TrainHooks",
    "Units",
    "magnitude_masks",
    "prunable_weights",
    "rate_to_sparsity",
    "select_masks",
    "sparsity_report",
    "sparsity_to_rate",
    "std_threshold",
    "threshold_mask",
    "train",
]
__version__ = "0.1.0"

# Loaded on first use: the loop needs Accelerate and the data code, the core does not.
_LAZY = {
    "train": ("training.finetune", "train"),
    "TrainConfig": ("config", "TrainConfig"),
    "L1Penalty": ("regularization", "L1Penalty"),
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
