"""Device-seconds: the slot-seconds one side of a run actually held (a slot: one trial's resources), its search's
and its final trainings' together. Unlike the wall-clock, they count what a cluster is paid for, whatever its size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cords_tune.results.final import FinalResult
    from cords_tune.results.finalist import FinalistRecord, RaceRecord
    from cords_tune.results.slot_use import SlotUse
    from cords_tune.results.summary import RunSummary

__all__ = ["DeviceTime", "device_time", "search_device_s", "final_device_s"]


@dataclass(frozen=True)
class DeviceTime:
    """A side's device-seconds, split into its search's and its final trainings'."""

    search_s: float
    final_s: float

    @property
    def total_s(self) -> float:
        return self.search_s + self.final_s


def search_device_s(slot_use: SlotUse | None, trial_wall_s_total: float | None) -> float | None:
    """The slot-seconds the search's trials held: its slots' time less their idle time; where the slot use was not
    recorded, the trials' wall-clocks summed. ``None`` where neither is known."""
    if slot_use is not None and slot_use.slot_s > 0:
        return slot_use.slot_s - slot_use.idle_s
    return trial_wall_s_total


def final_device_s(race: RaceRecord | None, finalists: Sequence[FinalistRecord], final: FinalResult | None) -> float:
    """The slot-seconds of the final trainings: the finalists' race as it counted them; else each finalist's task
    (one slot for its wall-clock); else the one final task (a retrain, or the full-data side's test of its best
    trial); 0 with none."""
    if race is not None:
        return race.device_s
    if finalists:
        return sum(f.device_s if f.device_s is not None else f.wall_s or 0.0 for f in finalists)
    return final.wall_s if final is not None else 0.0


def device_time(summary: RunSummary) -> DeviceTime | None:
    """A summary's device-seconds, split; ``None`` where the search's are not known."""
    search = search_device_s(summary.slot_use, summary.trial_wall_s_total)
    if search is None:
        return None
    return DeviceTime(search, final_device_s(summary.race, summary.finalists, summary.final))
