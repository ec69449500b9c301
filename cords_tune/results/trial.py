"""One trial of a search as a typed row, and the trials' Parquet form (``trials.parquet``): each searched
parameter is a ``param.<path>`` column there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cords_tune.results.energy import Energy
from cords_tune.results.records import known_fields, number_or_none

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TrialRecord", "trials_table", "read_trials"]

PARAM_PREFIX = "param."
TrialStatus = Literal["completed", "stopped", "out_of_time", "diverged", "error", "not_started"]


@dataclass(frozen=True)
class TrialRecord:
    """One trial: its sampled params, best and last metric, epochs run, seconds, status, energy.

    Status is ``completed`` (ran all epochs), ``stopped`` (stopped early by ASHA), ``out_of_time`` (stopped after
    an epoch because ``search.time_budget_s`` was spent), ``diverged`` (its loss
    became NaN or infinite; its metrics are kept), ``error`` or ``not_started`` (the search was interrupted
    before it reported an epoch). Metrics a trial never reported are NaN.
    """

    index: int  # its place in the search's results
    trial_id: str
    status: TrialStatus
    params: dict[str, Any]  # searched path -> sampled value
    epochs: int
    best_metric: float
    last_metric: float
    best_val_accuracy: float
    last_val_accuracy: float
    wall_s: float
    selection_s: float = 0.0
    train_s: float = 0.0
    eval_s: float = 0.0
    samples_seen: int = 0
    selection_fallback: bool = False
    selection_fallback_epoch: int | None = None  # when the cost guard switched it to random subsets
    selection_share_at_fallback: float | None = None
    restarts: int = 0
    error: str = ""
    node: str = ""
    gpu_ids: str = ""
    gpus_assigned: float = 0.0
    energy_j: float = 0.0
    energy_measured_j: float = 0.0
    energy_meters: str = ""
    energy_source: str = "estimated"

    @property
    def usable(self) -> bool:
        """It trained and ended on a finite loss: it can be ranked and retrained."""
        return self.status in ("completed", "stopped", "out_of_time") and self.epochs > 0

    @property
    def energy(self) -> Energy:
        return Energy.from_columns(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The row as a plain dict (``params`` nested)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialRecord:
        epoch = number_or_none(data.get("selection_fallback_epoch"))
        return cls(**known_fields(
            cls, data, params=dict(data.get("params") or {}),
            selection_fallback_epoch=None if epoch is None else int(epoch),
            selection_share_at_fallback=number_or_none(data.get("selection_share_at_fallback")),
        ))


def trials_table(trials: Sequence[TrialRecord]) -> pa.Table:
    """One row per trial; each searched parameter becomes a ``param.<path>`` column."""
    import pyarrow as pa

    rows = []
    for trial in trials:
        row = {k: v for k, v in trial.to_json().items() if k != "params"}
        row.update({f"{PARAM_PREFIX}{path}": value for path, value in trial.params.items()})
        rows.append(row)
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a choice mixing types: keep its values as text
        for row in rows:
            for key in row:
                if key.startswith(PARAM_PREFIX):
                    row[key] = None if row[key] is None else str(row[key])
        return pa.Table.from_pylist(rows)


def read_trials(path: str | Path) -> list[TrialRecord]:
    """``trials.parquet`` back into trials (``param.<path>`` columns into ``params``)."""
    import pandas as pd

    trials = []
    for record in pd.read_parquet(path).to_dict("records"):
        params = {k.removeprefix(PARAM_PREFIX): v for k, v in record.items() if k.startswith(PARAM_PREFIX)}
        trials.append(TrialRecord.from_json({**record, "params": params}))
    return trials
