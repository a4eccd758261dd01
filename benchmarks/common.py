"""Shared set-up for the benchmarks: a randomly initialised gpt2-small-sized model."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def gpt2_small(seed: int = 0) -> GPT2LMHeadModel:
    """124M parameters, 85M of them prunable (12 blocks of attention + MLP)."""
    torch.manual_seed(seed)
    return GPT2LMHeadModel(GPT2Config())  # the gpt2 defaults: 12 layers, 768 wide, 50257 vocab


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
