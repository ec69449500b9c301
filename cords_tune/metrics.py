"""The metrics a search can tune for, each declared once: its name, whether higher is better, and how it is
computed. ``search.metric`` names one as ``val_<name>`` (measured on the validation split); a final model's
test figure is ``test_<name>``.

Loss and accuracy are summed batch by batch in ``Trainer.evaluate``. The others are computed from the
split's logits (float32, on the training device) with the kernels below: pure torch, so a trial worker
imports no scikit-learn (seconds per worker; and this module imports torch only when a kernel runs, so the
config and the CLI can read the declarations cheaply), and they agree with scikit-learn's ``balanced_accuracy_score``,
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
from typing import TYPE_CHECKING, Literal

from cords_tune.errors import did_you_mean

if TYPE_CHECKING:
    import torch

__all__ = ["Metric", "Evaluation", "METRICS", "SEARCH_METRICS", "search_metric", "balanced_accuracy", "f1_macro",
           "roc_auc"]


@dataclass(frozen=True)
class Metric:
    """One metric a search can tune for.

    Attributes:
        name: e.g. ``"roc_auc"``; the search names it ``val_roc_auc``, the test figure is ``test_roc_auc``.
        mode: ``"max"`` where higher is better.
        title: how reports name it, e.g. ``"ROC AUC"``.
        compute: its value from a split's logits (n, C) and labels (n,); ``None`` for loss and accuracy, which
            ``Trainer.evaluate`` sums batch by batch.
    """

    name: str
    mode: Literal["max", "min"]
    title: str
    compute: Callable[[torch.Tensor, torch.Tensor], float] | None = None

    @property
    def key(self) -> str:
        """Its ``search.metric`` name: measured on the validation split."""
        return f"val_{self.name}"

    @property
    def test_key(self) -> str:
        return f"test_{self.name}"

    @property
    def from_logits(self) -> bool:
        """Computed from the whole split's logits (kept during evaluation), not summed per batch."""
        return self.compute is not None


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


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("accuracy", "max", "accuracy"),
    Metric("loss", "min", "loss"),
    Metric("balanced_accuracy", "max", "balanced accuracy", _on_predictions(balanced_accuracy)),
    Metric("f1_macro", "max", "F1 (macro)", _on_predictions(f1_macro)),
    Metric("roc_auc", "max", "ROC AUC", lambda logits, labels: roc_auc(logits.softmax(1), labels)),
)}
SEARCH_METRICS: tuple[str, ...] = tuple(METRICS)


def search_metric(key: str) -> Metric:
    """The metric ``search.metric`` names (``val_<name>``); a ``ValueError`` names the choices."""
    try:
        return METRICS[key]
    except KeyError:
        raise ValueError(f"must be one of {', '.join(SEARCH_METRICS)}. Got {key!r} instead."
                         f"{did_you_mean(key, SEARCH_METRICS)}") from None
