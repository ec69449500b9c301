"""Asynchronous successive halving (ASHA, as Ray Tune runs it) simulated on S slots: which trials stop at which rung
depends on when they reach it, so the epochs and the schedule come out together.

Trials start in order on the first free slot, each with a quality drawn from a seeded generator (higher is
better). A trial reaching a rung continues if no trial has been recorded there yet, or if its quality is at least
the ``1 - 1/reduction_factor`` percentile of those recorded (linear interpolation, as Ray's cutoff); it is then
recorded there. So the first trials to reach each rung go on, which a synchronous model of ASHA leaves out: with
few trials more of them train every epoch.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["SimulatedTrial", "simulate_asha", "cutoff"]


@dataclass(frozen=True)
class SimulatedTrial:
    slot: int
    start: float
    end: float
    epochs: int
    quality: float


def cutoff(recorded: Sequence[float], reduction_factor: float) -> float | None:
    """The value a trial must reach at a rung to go on: the ``1 - 1/reduction_factor`` percentile of the values
    recorded there, interpolated linearly; ``None`` when none is recorded (the trial goes on)."""
    if not recorded:
        return None
    values = sorted(recorded)
    position = (1 - 1 / reduction_factor) * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def simulate_asha(trials: int, rungs: Sequence[int], epochs: int, reduction_factor: float, slots: int,
                  slot_start: float, reach: Callable[[int], float], seed: int = 0,
                  qualities: Sequence[float] = ()) -> list[SimulatedTrial]:
    """Each trial's slot, start, end and epochs; ``reach(n)``: seconds from a trial's start to its ``n``-th epoch;
    the trials' qualities drawn from ``seed`` unless given."""
    rng = random.Random(seed)
    quality = list(qualities) or [rng.random() for _ in range(trials)]
    milestones = sorted(r for r in rungs if r < epochs) + [epochs]
    recorded: dict[int, list[float]] = {r: [] for r in milestones}
    free = [(slot_start, slot) for slot in range(min(slots, trials))]
    events: list[tuple[float, int, int]] = []  # (time, trial, milestone index)
    started: dict[int, tuple[int, float]] = {}
    done: list[SimulatedTrial] = []
    waiting = list(range(trials))

    def start_next(at: float, slot: int) -> None:
        if waiting:
            trial = waiting.pop(0)
            started[trial] = (slot, at)
            heapq.heappush(events, (at + reach(milestones[0]), trial, 0))

    for at, slot in sorted(free):
        start_next(at, slot)
    while events:
        at, trial, index = heapq.heappop(events)
        milestone, (slot, begun) = milestones[index], started[trial]
        bar = cutoff(recorded[milestone], reduction_factor) if milestone < epochs else None
        recorded[milestone].append(quality[trial])
        if milestone == epochs or (bar is not None and quality[trial] < bar):
            done.append(SimulatedTrial(slot, begun, at, milestone, quality[trial]))
            start_next(at, slot)
        else:
            heapq.heappush(events, (begun + reach(milestones[index + 1]), trial, index + 1))
    return sorted(done, key=lambda t: t.start)
