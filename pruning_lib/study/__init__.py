"""Layer 3: the study that reproduces arXiv 2310.04573 (the toy world, runs, kinds, plans,
the process pool, results, ``pruning-lib reproduce``, ``compute`` and ``compare``, notebook
helpers).

Imports the library, the training layer and the evaluation layer; nothing below imports it.
See ``docs/design.md``.

Importing it pins torch's AVX2 CPU kernels on x86 (``pruning_lib._cpu``), before any torch
operation of the study: its results are the same bit for bit on every x86 machine. And it
hides one note: ``tqdm.auto`` (which transformers imports) warns, in a Jupyter kernel
without ipywidgets, that its bars fall back to text; a notebook shows the lesson, not that.
"""

import warnings

from .._cpu import pin_cpu_kernels

pin_cpu_kernels()
warnings.filterwarnings("ignore", message="IProgress not found")
