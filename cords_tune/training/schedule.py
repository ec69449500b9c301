"""When a trial trains on the full data and when it (re)selects its subset."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["SubsetSchedule", "FractionSchedule"]


@dataclass(frozen=True)
class SubsetSchedule:
    """Epochs ``[0, warm_start_epochs)`` use the full data; from then on a subset is chosen at the first
    subset epoch and every ``every`` epochs after it.

    Args:
        every: epochs between reselections (R).
        warm_start_epochs: full-data epochs before the first subset.
        enabled: ``False`` for the full-data strategy: no epoch ever selects.
    """

    every: int
    warm_start_epochs: int = 0
    enabled: bool = True

    def uses_full_data(self, epoch: int) -> bool:
        return not self.enabled or epoch < self.warm_start_epochs

    def selects_at(self, epoch: int) -> bool:
        if self.uses_full_data(epoch):
            return False
        return (epoch - self.warm_start_epochs) % self.every == 0

    def round_at(self, epoch: int) -> int:
        """Which selection (0-based) the subset of subset epoch ``epoch`` comes from."""
        return max(0, epoch - self.warm_start_epochs) // self.every

    def rounds(self, epochs: int) -> int:
        """How many selections a trial of ``epochs`` epochs makes."""
        return max(0, -(-(epochs - self.warm_start_epochs) // self.every))


@dataclass(frozen=True)
class FractionSchedule:
    """The share of the training data a subset epoch trains on: ``fraction`` until the first of ``rungs``, then
    ``fractions[k]`` once the trial has passed ``k + 1`` rungs (the last value holds for later rungs). A value
    of 1 is the full data. Survivors of the scheduler's decisions are judged on more data
    (``selection.rung_fractions``).

    Args:
        fraction: before the first rung (``selection.fraction``).
        rungs: the 1-based epochs after which the scheduler decides, ascending.
        fractions: one share per rung passed, ascending.
    """

    fraction: float
    rungs: tuple[int, ...] = ()
    fractions: tuple[float, ...] = ()

    def at(self, epoch: int) -> float:
        """The share for 0-based epoch ``epoch``: it follows every rung at or before it."""
        passed = min(bisect_right(self.rungs, epoch), len(self.fractions))
        return self.fractions[passed - 1] if passed else self.fraction

    def grows_at(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` trains on a larger share than the one before it (a new subset is due)."""
        return epoch > 0 and self.at(epoch) != self.at(epoch - 1)
