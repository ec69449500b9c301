"""A finalist of the subset search, trained on the full data, as summary.json's ``finalists`` lists it (the
finalists' training is in ``cords_tune.tuning.finalists``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cords_tune.results.records import DictForm

__all__ = ["FinalistRecord"]


@dataclass(frozen=True)
class FinalistRecord(DictForm):
    """A finalist as summary.json's ``finalists`` lists it (``as_dict``, ``from_dict``)."""

    rank: int  # 1: the subset search's best
    trial_id: str
    params: dict[str, Any]
    subset_score: float  # the search metric on subsets
    full_data_score: float  # the same trained on the full data; NaN where it failed or diverged
    val_accuracy: float | None
    val_loss: float | None
    test_accuracy: float | None
    epochs: int
    wall_s: float | None
    energy_j: float | None = None
    energy_source: str | None = None
    done_after_s: float | None = None
    diverged: bool = False
    error: str | None = None
    picked: bool = False
