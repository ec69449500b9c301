"""A final model's scores and cost: summary.json's ``final`` (the training that makes it is in
``cords_tune.tuning.retrain``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from cords_tune.results.energy import Energy
from cords_tune.results.metrics import METRICS
from cords_tune.results.records import known_fields

if TYPE_CHECKING:
    from cords_tune.final_model import FinalModel

__all__ = ["FinalResult"]


@dataclass(frozen=True)
class FinalResult:
    """A final model's scores and cost: summary.json's ``final`` (``as_dict``, ``from_dict``)."""

    test_accuracy: float
    test_loss: float | None  # ``None``: read from a summary written before it was recorded (likewise below)
    val_accuracy: float | None
    val_loss: float | None
    epochs: int
    wall_s: float
    train_s: float
    node: str
    retrained: bool = True  # False: a finished trial's model, tested as it stands
    model_path: str | None = None  # where ``keep_model`` saved it, relative to the folder of its summary.json
    energy: Energy = Energy()  # what the task's CPUs and GPUs used, training and testing
    # The search metric's validation and test values where it is neither accuracy nor loss (``cords_tune.metrics``),
    # by key: {"val_roc_auc": 0.93, "test_roc_auc": 0.91}; entries of their own in ``as_dict``.
    scores: dict[str, float] = field(default_factory=dict)
    model: FinalModel | None = field(default=None, repr=False, compare=False)  # the weights, until saved

    def score(self, key: str) -> float | None:
        """The value of a metric by its key: ``search.metric`` (``val_roc_auc``: the validation score the
        search was ranked by, at the last epoch) or its test figure (``test_roc_auc``); ``None`` where not
        recorded."""
        return self.as_dict().get(key)

    def as_dict(self) -> dict[str, Any]:
        """The summary's ``final`` entry: every field but the weights, the energy as its columns, the scores as
        entries of their own."""
        kept = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("model", "energy", "scores")}
        return {**kept, **self.energy.as_columns(), **self.scores}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FinalResult:
        keys = {key for m in METRICS.values() if m.from_logits for key in (m.key, m.test_key)}
        scores = {key: value for key, value in data.items() if key in keys}
        return cls(**known_fields(cls, data, energy=Energy.from_columns(data), model=None, scores=scores))
