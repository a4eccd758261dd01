"""pruning-lib: magnitude pruning for Hugging Face causal LMs, taught and reproduced.

Reproduces arXiv 2310.04573 ("Can pruning make Large Language Models more
efficient?"): threshold, rate (layer-wise and global), schedules, L1 regularization
and fine-tuning with masks held, evaluated on the paper's six tasks.
"""

from .prune import Pruner, magnitude_masks, prunable_weights, rate_to_sparsity, sparsity_to_rate
from .schedules import Schedule

__all__ = [
    "Pruner",
    "Schedule",
    "magnitude_masks",
    "prunable_weights",
    "rate_to_sparsity",
    "sparsity_to_rate",
]
__version__ = "0.1.0"
