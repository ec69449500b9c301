"""When a trial trains on the full data and when it (re)selects its subset."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SubsetSchedule"]


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
