"""A finalist of the subset search, trained on the full data, as summary.json's ``finalists`` lists it (the
finalists' training is in ``cords_tune.tuning.finalists``)."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any

from cords_tune.results.records import DictForm, known_fields

__all__ = ["FinalistRecord", "RungRecord", "RaceRecord"]


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
    stopped_at: int | None = None  # the full-data epoch at which the race stopped it; None: it trained to the end
    device_s: float | None = None  # slot-seconds its tasks held (a data-parallel segment: its workers' together)


@dataclass(frozen=True)
class RungRecord(DictForm):
    """One decision of the finalists' race: the candidates compared after ``epoch`` full-data epochs."""

    epoch: int
    ranks: list[int]  # the candidates compared, by subset rank
    scores: list[float]  # their validation scores (search metric) at this epoch, in the order of ``ranks``
    kept: list[int]  # those that trained on
    ended_after_s: float  # from the finalists' start to this decision
    device_s: float  # slot-seconds the candidates held since the previous rung (or the start)


@dataclass(frozen=True)
class RaceRecord(DictForm):
    """The finalists' phase as summary.json's ``race`` keeps it: successive halving over ``candidates`` on the
    full data (``rungs`` empty: every candidate trained to the end)."""

    candidates: int
    rungs: list[RungRecord]
    winner_rank: int
    epochs: int  # the winner's full-data epochs
    wall_s: float  # the phase's wall-clock
    device_s: float  # slot-seconds held by every finalist's tasks
    warm_start: bool = False  # the finalists started from their subset trials' models
    workers: int = 1  # data-parallel workers of the winner's last segment
    start_s: float | None = None  # median wait from a task's submission to its training's start (worker start)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RaceRecord:
        return cls(**known_fields(cls, data, rungs=[RungRecord.from_dict(r) for r in data.get("rungs") or []]))
