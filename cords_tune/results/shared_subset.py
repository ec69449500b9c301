"""What a run's shared subsets are and what choosing them cost: summary.json's ``shared_subset`` (the proxy
and the subsets themselves are in ``cords_tune.training.proxy``)."""

from __future__ import annotations

from dataclasses import dataclass

from cords_tune.results.records import DictForm

__all__ = ["SharedSubsetRecord"]


@dataclass(frozen=True)
class SharedSubsetRecord(DictForm):
    """What a run's shared subsets are and what choosing them cost, without the subsets themselves:
    summary.json's ``shared_subset``.

    Attributes:
        strategy: the strategy that chose them.
        fraction: the share of the training data each holds.
        pool: the share of each class each round chose from (1: every round the same subset).
        normalized: how the subsets' weights enter the loss (see ``Subset``).
        proxy_model: the proxy's network.
        proxy_epochs: epochs the proxy trained on the full data.
        proxy_val_accuracy: the proxy's validation accuracy after them.
        train_s: the proxy's training, in seconds (its model set-up included).
        selection_s: scoring the data and choosing the subsets.
        wall_s: the whole task, from its start to the subsets.
        rounds: how many subsets (one per reselection round of a trial).
        size: the samples each holds.
    """

    strategy: str
    fraction: float
    pool: float | None
    normalized: bool
    proxy_model: str
    proxy_epochs: int
    proxy_val_accuracy: float
    train_s: float
    selection_s: float
    wall_s: float
    rounds: int = 1  # a summary written before subsets had rounds holds one
    size: int = 0
