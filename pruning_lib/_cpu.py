"""One set of CPU kernels on every x86 machine, so that CPU results match bit for bit.

torch picks its vectorized CPU kernels (and Intel MKL its matrix products) by what the
processor offers: AVX-512 where there is some, else AVX2. The two sum in other orders, so
the same training, seed and thread count give other weights in the last bits, which 1,600
steps turn into other scores. Pinning the AVX2 kernels, which every x86 machine of the last
decade has, makes them agree (`tests/test_baseline_retrain.py`).

The choice is made once, by torch's first CPU operation, from environment variables (importing
torch does not make it). Importing the library changes nothing: the study pins, when
``pruning_lib.study`` is imported (its notebooks, ``pruning-lib``, the pool's workers), or a
program of your own calls :func:`pin_cpu_kernels` before its first torch operation. A
variable already set is kept (``ATEN_CPU_CAPABILITY=default`` or ``avx512`` of your own).
Imports nothing heavy.
"""

from __future__ import annotations

import os
import platform

# What torch (ATen), Intel MKL and oneDNN read to choose their kernels; AVX2 on x86 only.
PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def pin_cpu_kernels() -> dict[str, str]:
    """Set each variable of :data:`PINNED` that is unset (or empty), on x86 only.

    Returns:
        The variables this call set, with their values (empty off x86, or where every one
        was set already).
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    pinned = {}
    for name, value in PINNED.items():
        if not os.environ.get(name):  # an empty value is unset to torch and MKL too
            os.environ[name] = value
            pinned[name] = value
    return pinned


def cpu_kernels() -> str:
    """The CPU kernels torch uses; its first CPU operation fixes them, so this tells whether
    the pin came in time.

    Returns:
        ``"AVX2"``, ``"AVX512"``, ``"DEFAULT"`` (no vector extension used) or another name
        of ``torch.backends.cpu.get_cpu_capability()``.
    """
    import torch

    return torch.backends.cpu.get_cpu_capability()
