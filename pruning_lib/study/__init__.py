"""Layer 3: the study that reproduces arXiv 2310.04573 (the toy world, runs, kinds, plans,
the process pool, results, ``pruning-lib reproduce``, ``compute`` and ``compare``, notebook
helpers).

Imports the library, the training layer and the evaluation layer; nothing below imports it.
See ``docs/design.md``.

Importing it pins torch's AVX2 CPU kernels on x86 (``pruning_lib._cpu``), before any torch
operation of the study: its results are the same bit for bit on every x86 machine. And it
imports ``tqdm.auto`` once, quietly (:func:`_text_bars_without_widgets`), so that a notebook
shows the lesson, not tqdm's note about ipywidgets.
"""

import warnings

from .._cpu import pin_cpu_kernels


def _text_bars_without_widgets() -> None:
    """Import ``tqdm.auto`` without its note on a kernel that lacks ipywidgets.

    ``tqdm.auto`` (which transformers and the hub client import) chooses widget bars in a
    Jupyter kernel; where ipywidgets is not installed (``pip install .[notebooks]``, Binder)
    it falls back to the text bars of ``tqdm.std``, the ones this package draws itself, and
    says so once on stderr, a TqdmWarning naming its own file under site-packages, in the
    cell that imports the study. The fallback is what we want, so the note is silenced for
    this one import only (the caller's warning filters are left as they were); the module is
    then cached, and no later import repeats it. Where ipywidgets is installed (Colab) there
    is no note, and tqdm.auto's bars are widgets.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tqdm.auto  # noqa: F401


pin_cpu_kernels()
_text_bars_without_widgets()
