"""How the metrics a search can tune for are computed (their declarations, read without torch, are in
``cords_tune.results.metrics``).

Loss and accuracy are summed batch by batch in ``Trainer.evaluate``. The others are computed from the
split's logits (float32, on the training device) with the kernels below: pure torch, so a trial worker
imports no scikit-learn (seconds per worker; and this module imports torch only when a kernel runs), and they agree with scikit-learn's ``balanced_accuracy_score``,
``f1_score(average="macro")`` and ``roc_auc_score`` (tested). A class absent from the split never makes a
trial fail, where scikit-learn raises or warns:

- balanced accuracy averages the recall of the classes present in the labels (as scikit-learn);
- F1 macro averages over the classes present in the labels or the predictions (as scikit-learn), so
  predicting a class the split lacks costs a zero;
- ROC AUC (one-vs-rest macro for more than two classes) leaves out a class without positives or without
  negatives in the split, which has no AUC. The validation split is one for the whole run, so every trial
  averages over the same classes and their scores stay comparable; NaN (an unusable score) would instead
  fail every trial of a run whose split lacks a rare class. With no class left (one class in the split),
  it is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cords_tune.results.metrics import Metric

if TYPE_CHECKING:
    import torch

__all__ = ["Evaluation", "KERNELS", "compute", "balanced_accuracy", "f1_macro", "roc_auc"]


@dataclass(frozen=True)
class Evaluation:
    """One pass over a split: its mean loss and accuracy, and the scores computed from its logits (the search
    metric's where it is neither, by metric name, e.g. ``{"roc_auc": 0.93}``). It unpacks as before the scores
    were added: ``loss, accuracy = trainer.evaluate_test()``."""

    loss: float
    accuracy: float
    scores: dict[str, float] = field(default_factory=dict)

    def __iter__(self) -> Iterator[float]:
        return iter((self.loss, self.accuracy))

    def keyed(self, split: str) -> dict[str, float]:
        """``scores`` under their keys for ``split`` (``"val"`` or ``"test"``): ``{"val_roc_auc": 0.93}``."""
        return {f"{split}_{name}": value for name, value in self.scores.items()}


def balanced_accuracy(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """The mean recall of the classes present in ``labels``; ``predicted`` and ``labels`` are class indices."""
    support = labels.bincount(minlength=num_classes)
    hits = labels[predicted == labels].bincount(minlength=num_classes)
    present = support > 0
    return (hits[present].double() / support[present]).mean().item()


def f1_macro(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """The mean F1 score (2 TP / (2 TP + FP + FN)) of the classes present in ``labels`` or ``predicted``."""
    support = labels.bincount(minlength=num_classes)
    guessed = predicted.bincount(minlength=num_classes)
    tp = labels[predicted == labels].bincount(minlength=num_classes)
    seen = (support + guessed) > 0
    return (2 * tp[seen].double() / (support[seen] + guessed[seen])).mean().item()


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """The area under the ROC curve by the Mann-Whitney U statistic, tied scores taking their average rank.

    Args:
        scores: (n, C) class scores, e.g. probabilities. With C = 2, the positive class's (column 1) alone is
            ranked (binary AUC); with more, each class against the rest, and the AUCs averaged (macro).
        labels: (n,) class indices.

    Returns:
        The AUC; a class without positives or without negatives is left out of the average, and with none
        left the result is NaN.
    """
    import torch

    if scores.shape[1] == 2:
        scores, positive = scores[:, 1:], (labels == 1).unsqueeze(1)
    else:
        positive = labels.unsqueeze(1) == torch.arange(scores.shape[1], device=labels.device)
    if not torch.isfinite(scores).all():
        return math.nan
    ordered, order = scores.T.sort(dim=1)  # (k, n): each ranked class's scores, ascending
    k, n = ordered.shape
    at = torch.arange(n, device=ordered.device).expand(k, n)
    starts = torch.ones_like(ordered, dtype=torch.bool)  # where a run of tied scores starts ...
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = torch.ones_like(starts)  # ... and ends
    ends[:, :-1] = starts[:, 1:]
    first = torch.where(starts, at, 0).cummax(1).values  # of the run each sorted score is in
    last = torch.where(ends, at, n - 1).flip(1).cummin(1).values.flip(1)
    ranks = (first + last + 2).double() / 2  # 1-based; tied scores share their mean rank
    positive = positive.T.gather(1, order)  # in the same order
    n_pos = positive.sum(1).double()
    n_neg = n - n_pos
    defined = (n_pos > 0) & (n_neg > 0)
    if not defined.any():
        return math.nan
    u = (ranks * positive).sum(1) - n_pos * (n_pos + 1) / 2
    return (u[defined] / (n_pos[defined] * n_neg[defined])).mean().item()


def _on_predictions(kernel: Callable[[torch.Tensor, torch.Tensor, int], float]) -> Callable[..., float]:
    return lambda logits, labels: kernel(logits.argmax(1), labels, logits.shape[1])


KERNELS: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] = {
    "balanced_accuracy": _on_predictions(balanced_accuracy),
    "f1_macro": _on_predictions(f1_macro),
    "roc_auc": lambda logits, labels: roc_auc(logits.softmax(1), labels),
}


def compute(metric: Metric, logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The value of ``metric`` (one declared ``from_logits``) from a split's logits (n, C) and labels (n,)."""
    return KERNELS[metric.name](logits, labels)
