"""Where a search's slot time goes: each trial worker's timeline, from the wall-clock marks its trials report.

A slot is one trial's worth of resources; the search holds ``slots`` of them for its whole wall-clock. Each
trial reports when it started (``trial_started_at``, on entering the trainable), when its trainer was ready
(``trainer_ready_at``: data on the device, model built, checkpoint loaded) and, every epoch, when it reported
(``reported_at``). A worker process (``worker``: node and pid) runs one trial after another (Tune reuses
actors), so its timeline is: waiting to start (Ray starting the process, imports, fetching the data), then
per trial building, epochs (selection, training, evaluation: the work) with reporting between them, then the
gap until its next trial, and at the end idle time once no trial is left for it.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields

__all__ = ["SlotUse", "TrialTimeline", "slot_use", "over_sessions", "process_started_at"]

WORK_COLUMNS = ("selection_s", "train_s", "eval_s")


@dataclass(frozen=True)
class TrialTimeline:
    """One trial's wall-clock marks (seconds since the epoch) and per-epoch work."""

    worker: str  # node and pid of the process that ran it
    started_at: float
    ready_at: float
    reported_at: tuple[float, ...]  # one per epoch run in this process (a restored trial's later epochs)
    work_s: tuple[float, ...]  # selection + training + evaluation of each of those epochs

    @classmethod
    def from_history(cls, history: Mapping[str, Sequence]) -> "TrialTimeline | None":
        """From a trial's per-epoch results (Tune's metrics frame as columns); None without the marks (a trial
        that reported nothing, or files from before they were reported). A restored trial keeps the marks of
        the process it ended in."""
        starts = [s for s in history.get("trial_started_at", []) if s == s]
        if not starts:
            return None
        started = starts[-1]
        index = [i for i, s in enumerate(history["trial_started_at"]) if s == started]
        column = {key: [history[key][i] for i in index] for key in ("reported_at", *WORK_COLUMNS, "worker")}
        return cls(
            worker=str(column["worker"][-1]),
            started_at=float(started),
            ready_at=float(history["trainer_ready_at"][index[-1]]),
            reported_at=tuple(map(float, column["reported_at"])),
            work_s=tuple(float(sum(parts)) for parts in zip(*(column[key] for key in WORK_COLUMNS))),
        )

    @property
    def ended_at(self) -> float:
        return self.reported_at[-1] if self.reported_at else self.ready_at


@dataclass(frozen=True)
class SlotUse:
    """The search's slot-seconds split by what they were spent on (seconds, summed over slots)."""

    slots: int  # the most trials that ran at once
    slot_s: float  # slots x the search's wall-clock
    work_s: float  # selection, training and evaluation: what the search is for
    starting_s: float  # from the search's start to a worker's first trial: process start, imports, data fetch
    building_s: float  # a trial's set-up: data to the device, model, optimizer, checkpoint restored
    reporting_s: float  # between epochs: reports to Tune and checkpoints written
    between_trials_s: float  # from a trial's last report to the next trial's start in the same worker
    idle_s: float  # the rest: slots with no trial left to run, and workers that never started one

    @property
    def overhead_share(self) -> float:
        """The share of the slot-seconds spent outside selection, training and evaluation."""
        return 1.0 - self.work_s / self.slot_s if self.slot_s > 0 else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "overhead_share": self.overhead_share}

    @classmethod
    def from_dict(cls, data: Mapping[str, float | int]) -> "SlotUse":
        return cls(**{field.name: data[field.name] for field in fields(cls)})


def slot_use(timelines: Iterable[TrialTimeline], started_at: float, ended_at: float) -> SlotUse | None:
    """The split of ``slots x (ended_at - started_at)``; None when no trial reported its marks."""
    trials = sorted(timelines, key=lambda t: t.started_at)
    if not trials:
        return None
    by_worker: dict[str, list[TrialTimeline]] = defaultdict(list)
    for trial in trials:
        by_worker[trial.worker].append(trial)
    slots = _most_at_once(trials)
    starting = building = reporting = between = work = 0.0
    for runs in by_worker.values():
        starting += max(0.0, runs[0].started_at - started_at)
        for previous, trial in zip([None, *runs], runs):
            if previous is not None:
                between += max(0.0, trial.started_at - previous.ended_at)
            building += trial.ready_at - trial.started_at
            work += sum(trial.work_s)
            marks = (trial.ready_at, *trial.reported_at)
            reporting += sum(b - a for a, b in zip(marks, marks[1:])) - sum(trial.work_s)
    slot_s = slots * (ended_at - started_at)
    # Workers beyond ``slots`` (a process replaced after a failure) overlap others: the idle rest absorbs it.
    idle = slot_s - (work + starting + building + reporting + between)
    return SlotUse(slots, slot_s, work, starting, building, max(0.0, reporting), between, max(0.0, idle))


def over_sessions(earlier: SlotUse | None, later: SlotUse | None) -> SlotUse | None:
    """The slot use of a search that ran in two sessions (an interrupted one and its resume): the seconds add
    up, the slots are the most either had."""
    if earlier is None or later is None:
        return later or earlier
    seconds = {f.name: getattr(earlier, f.name) + getattr(later, f.name) for f in fields(SlotUse) if f.name != "slots"}
    return SlotUse(slots=max(earlier.slots, later.slots), **seconds)


def _most_at_once(trials: Sequence[TrialTimeline]) -> int:
    events = sorted([(t.started_at, 1) for t in trials] + [(t.ended_at, -1) for t in trials])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return max(1, most)


def process_started_at() -> float | None:
    """When this process started (seconds since the epoch), from /proc; None where there is no /proc."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")
