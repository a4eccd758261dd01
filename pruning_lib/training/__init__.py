"""Layer 2: the training loop on Accelerate and the recipes that pair it with a ``Pruner``.

Imports the library (layer 1) and never the study (layer 3); see ``docs/design.md``.
"""
