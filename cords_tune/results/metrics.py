"""The metrics a search can tune for, each declared once: its name, whether higher is better, how reports name
it, and whether it is computed from a split's logits. ``search.metric`` names one as ``val_<name>`` (measured on
the validation split); a final model's test figure is ``test_<name>``. The kernels that compute them are in
``cords_tune.metrics`` (torch); these declarations are read without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cords_tune.errors import did_you_mean

__all__ = ["Metric", "METRICS", "SEARCH_METRICS", "search_metric"]


@dataclass(frozen=True)
class Metric:
    """One metric a search can tune for.

    Attributes:
        name: e.g. ``"roc_auc"``; the search names it ``val_roc_auc``, the test figure is ``test_roc_auc``.
        mode: ``"max"`` where higher is better.
        title: how reports name it, e.g. ``"ROC AUC"``.
        from_logits: computed from the whole split's logits (kept during evaluation, by a kernel of
            ``cords_tune.metrics``), not summed per batch as ``Trainer.evaluate`` sums loss and accuracy.
    """

    name: str
    mode: Literal["max", "min"]
    title: str
    from_logits: bool = False

    @property
    def key(self) -> str:
        """Its ``search.metric`` name: measured on the validation split."""
        return f"val_{self.name}"

    @property
    def test_key(self) -> str:
        return f"test_{self.name}"


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("accuracy", "max", "accuracy"),
    Metric("loss", "min", "loss"),
    Metric("balanced_accuracy", "max", "balanced accuracy", from_logits=True),
    Metric("f1_macro", "max", "F1 (macro)", from_logits=True),
    Metric("roc_auc", "max", "ROC AUC", from_logits=True),
)}
SEARCH_METRICS: tuple[str, ...] = tuple(METRICS)


def search_metric(key: str) -> Metric:
    """The metric ``search.metric`` names (``val_<name>``); a ``ValueError`` names the choices."""
    try:
        return METRICS[key]
    except KeyError:
        raise ValueError(f"must be one of {', '.join(SEARCH_METRICS)}. Got {key!r} instead."
                         f"{did_you_mean(key, SEARCH_METRICS)}") from None
