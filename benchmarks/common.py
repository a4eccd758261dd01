"""Shared set-up for the benchmarks: a randomly initialised gpt2-small-sized model.

Importing it pins torch's AVX2 CPU kernels on x86 before any torch operation
(``pruning_lib/_cpu.py``), as the study does: the benchmarks time the kernels the notebooks
run. Start Python with ``ATEN_CPU_CAPABILITY=avx512`` (and ``MKL_CBWR=AUTO``) to time the
AVX-512 ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from pruning_lib import pin_cpu_kernels

pin_cpu_kernels()  # before any torch operation

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# The figures' JSON lives with the package (notebook 10 reads it, on Colab too); plots here.
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "pruning_lib" / "study" / "reference" / "benchmarks"


def write_result(name: str, data: dict) -> Path:
    """Write ``RESULTS/<name>.json`` atomically (a temporary file, then a rename)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / f".{name}.json.tmp"
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    return tmp.replace(RESULTS / f"{name}.json")


def gpt2_small(seed: int = 0) -> GPT2LMHeadModel:
    """124M parameters, 85M of them prunable (12 blocks of attention + MLP)."""
    torch.manual_seed(seed)
    return GPT2LMHeadModel(GPT2Config())  # the gpt2 defaults: 12 layers, 768 wide, 50257 vocab


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> float:
    """Reset this process's peak resident memory (Linux clear_refs); returns the current MB.

    Without the reset, the peak of building the model would hide the peak of pruning it.
    """
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory since the last reset, in MB."""
    return _status_mb("VmHWM")
