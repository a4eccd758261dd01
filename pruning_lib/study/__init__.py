"""Layer 3: the study that reproduces arXiv 2310.04573 (toy world, tasks, data, evaluation,
cached experiments, results, ``pruning-lib reproduce`` and ``compare``, notebook helpers).

Imports the library and the training layer; nothing below imports it. See ``docs/design.md``.
"""
