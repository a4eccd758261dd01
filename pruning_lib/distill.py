"""Recovery by distillation: fine-tune the pruned model toward the dense model's logits.

Knowledge distillation (Hinton et al., 2015) adds to the language-model loss a term that
pulls the student's next-token distribution toward the teacher's on the same batch:

    alpha * T**2 * KL(softmax(teacher / T) || softmax(student / T)),

averaged over tokens. ``T`` (the temperature) softens both distributions; the ``T**2``
keeps the term's gradient on the scale of the loss's as ``T`` changes (the gradient of
the KL by the student's logits is ``(p_student - p_teacher) / T``). :class:`Distillation`
is a training hook: pass it with the :class:`~pruning_lib.prune.Pruner` (the masks held)
to ``finetune.train`` or ``recipes.finetune``. The teacher is the dense model before
pruning (a copy), frozen, in eval mode.

Example:
    >>> import torch
    >>> s = torch.tensor([[[0.0, 1.0]]])
    >>> round(float(distillation_loss(s, s, 2.0)), 6)  # a student equal to its teacher
    0.0
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_number
from .hooks import TrainHooks


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 2.0
) -> torch.Tensor:
    """``T**2 * KL(p_teacher || p_student)`` at temperature ``T``, mean over tokens.

    Args:
        student_logits, teacher_logits: ``(..., vocab)``, the same shape.
        temperature: > 0.
    """
    check_number("temperature", temperature, 0, low_open=True)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} must have the same shape"
        )
    vocab = student_logits.shape[-1]
    student = F.log_softmax(student_logits.float().reshape(-1, vocab) / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float().reshape(-1, vocab) / temperature, dim=-1)
    kl = F.kl_div(student, teacher, log_target=True, reduction="batchmean")  # mean over tokens
    return temperature**2 * kl


class Distillation(TrainHooks):
    """A training hook that adds ``alpha * distillation_loss`` toward ``teacher``'s logits.

    Args:
        teacher: the dense model (copied: later changes to the original do not reach it).
        alpha: weight of the term beside the language-model loss (>= 0).
        temperature: > 0.
    """

    def __init__(self, teacher: nn.Module, alpha: float = 1.0, temperature: float = 2.0):
        check_number("alpha", alpha, 0)
        check_number("temperature", temperature, 0, low_open=True)
        self.teacher = copy.deepcopy(teacher).eval().requires_grad_(False)
        self.alpha, self.temperature = float(alpha), float(temperature)

    def batch_penalty(self, input_ids: torch.Tensor, logits: torch.Tensor) -> torch.Tensor | None:
        if self.alpha == 0:
            return None
        device = next(self.teacher.parameters()).device
        if device != input_ids.device:
            self.teacher.to(input_ids.device)
        with torch.no_grad():
            teacher_logits = self.teacher(input_ids=input_ids).logits
        return self.alpha * distillation_loss(logits, teacher_logits, self.temperature)
