"""One trial of a search as a typed row, and the trials' Parquet form (``trials.parquet``): each searched
parameter is a ``param.<path>`` column there."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cords_tune.results.energy import Energy
from cords_tune.results.records import known_fields, number_or_none

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TrialRecord", "Reported", "REPORTED", "reported_fields", "trials_table", "read_trials"]

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
        """The record of ``to_json``'s dict, or of a trials.parquet row: there a number never reported may be
        null (files written through pandas stored NaN so), read as NaN."""
        epoch = number_or_none(data.get("selection_fallback_epoch"))
        return cls(**known_fields(
            cls, data, params=dict(data.get("params") or {}),
            selection_fallback_epoch=None if epoch is None else int(epoch),
            selection_share_at_fallback=number_or_none(data.get("selection_share_at_fallback")),
            **{name: math.nan for name in _FLOATS if name in data and data[name] is None},
        ))


_FLOATS = tuple(f.name for f in fields(TrialRecord) if f.type == "float")


SEARCH_METRIC = "<search.metric>"  # in ``Reported.key``: the metric the search tunes for, whichever it is


@dataclass(frozen=True)
class Reported:
    """A ``TrialRecord`` field read from what the trial reported each epoch (Tune's results).

    Attributes:
        field: the ``TrialRecord`` field (and trials.parquet column).
        key: what the trial reports, ``SEARCH_METRIC`` for the search metric.
        over_epochs: how a trial's epochs give the field: ``final`` (its last report as it stands, 0 where
            missing), ``sum`` (over its epochs), ``last`` or ``best`` (of its finite values; NaN where none;
            ``best`` in the search's mode, or ``max`` for a key other than the search metric).
        kind: the field's type (``int``, ``float``, ``bool``, ``str``).
    """

    field: str
    key: str
    over_epochs: Literal["final", "sum", "last", "best"]
    kind: type = float

    def of(self, history: Mapping[str, Sequence[Any]], final: Mapping[str, Any], metric: str, mode: str) -> Any:
        """The field's value from a trial's per-epoch results (``history``, columns) and its last one."""
        key = metric if self.key == SEARCH_METRIC else self.key
        if self.over_epochs == "final":
            return self.kind(final.get(key) or self.kind())
        if self.over_epochs == "sum":
            return self.kind(sum(history.get(key, [])))
        values = [v for v in history.get(key, []) if isinstance(v, (int, float)) and math.isfinite(v)]
        if not values:
            return math.nan
        if self.over_epochs == "last":
            return values[-1]
        return min(values) if self.key == SEARCH_METRIC and mode == "min" else max(values)


# Each TrialRecord field a trial reports, declared once; collect_trials reads them all from Tune's results.
REPORTED: tuple[Reported, ...] = (
    Reported("epochs", "training_iteration", "final", int),
    Reported("best_metric", SEARCH_METRIC, "best"),
    Reported("last_metric", SEARCH_METRIC, "last"),
    Reported("best_val_accuracy", "val_accuracy", "best"),
    Reported("last_val_accuracy", "val_accuracy", "last"),
    Reported("wall_s", "time_total_s", "final"),
    Reported("selection_s", "selection_s", "sum"),
    Reported("train_s", "train_s", "sum"),
    Reported("eval_s", "eval_s", "sum"),
    Reported("samples_seen", "samples_seen", "final", int),
    Reported("selection_fallback", "selection_fallback", "final", bool),
    Reported("restarts", "restarts", "final", int),
    Reported("gpu_ids", "gpu_ids", "final", str),
    Reported("gpus_assigned", "gpus_assigned", "final"),
)


def reported_fields(history: Mapping[str, Sequence[Any]], final: Mapping[str, Any], metric: str,
                    mode: str) -> dict[str, Any]:
    """The ``REPORTED`` fields of one trial, by field name."""
    return {reported.field: reported.of(history, final, metric, mode) for reported in REPORTED}


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
    """``trials.parquet`` back into trials (``param.<path>`` columns into ``params``; a trial without a
    parameter others have holds it as ``None``)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:  # not pq.read_table: it imports pandas
        records = file.read().to_pylist()
    trials = []
    for record in records:
        params = {k.removeprefix(PARAM_PREFIX): v for k, v in record.items() if k.startswith(PARAM_PREFIX)}
        trials.append(TrialRecord.from_json({**record, "params": params}))
    return trials
