"""Where we run and how: seeds, threads, device, Colab. Set in this one place.

Example:
    >>> seed_everything(3)
    >>> a = torch.rand(2)
    >>> seed_everything(3)
    >>> bool(torch.equal(a, torch.rand(2)))
    True
"""

from __future__ import annotations

import os
import random
import sys
import warnings

import numpy as np
import torch

from .._cpu import cpu_kernels
from ..checks import check_number

# Where Colab installs the package from; the notebooks' first cell reads it.
REPOSITORY_URL = "https://github.com/pruning-lib/pruning-lib"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) with one number."""
    check_number("seed", seed, 0, 2**63 - 1, integer=True)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(threads: int | None) -> int:
    """Use ``threads`` CPU threads for torch (None: leave as is); returns the count in use.

    The tutorial profile uses one thread: CPU results then do not depend on the core
    count, and on a shared machine one thread keeps its speed where two slow down.
    """
    if threads is not None:
        check_number("threads", threads, 1, integer=True)
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` picks CUDA when there is a GPU, else the CPU; ``cpu``/``cuda`` force it."""
    if preference not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device={preference!r} is not allowed; choose auto, cpu or cuda")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but torch sees no GPU")
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def describe_environment() -> str:
    """One line on where we run (for an unchecked notebook cell)."""
    device = pick_device()
    where = (
        "Colab" if in_colab() else ("Binder" if os.environ.get("BINDER_SERVICE_HOST") else "local")
    )
    gpu = f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""
    threads = torch.get_num_threads()
    kernels = f", {cpu_kernels()} kernels" if device.type == "cpu" else ""
    return f"{where}, torch {torch.__version__}, device {device}{gpu}, {threads} threads{kernels}"


def check_cpu_kernels() -> None:
    """Warn where torch chose its AVX-512 CPU kernels before ``pruning_lib.study`` could pin the
    AVX2 ones (a torch operation ran first): results then differ in the last bits from those
    of other machines and from the committed notebooks (see ``pruning_lib/_cpu.py``)."""
    if cpu_kernels().startswith("AVX512") and os.environ.get("ATEN_CPU_CAPABILITY") == "avx2":
        warnings.warn(
            "torch uses its AVX-512 CPU kernels: a torch operation ran before "
            "pruning_lib.study was imported, so its AVX2 pin came too late and CPU results "
            "will differ in the last bits from other machines'. Import pruning_lib.study "
            "first, or start Python with ATEN_CPU_CAPABILITY=avx2.",
            RuntimeWarning,
            stacklevel=3,  # the notebook cell that called start()
        )
