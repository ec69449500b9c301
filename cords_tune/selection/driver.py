"""A trial's subsets epoch by epoch: a strategy run on its plan's schedule, a shared strategy's run-wide subsets
handed out by round, and the two places where a trial trains on online random subsets instead of its strategy.

The training loop asks ``SelectionDriver.subset_for`` at each epoch and trains on what it gets; it knows nothing of
schedules, guards or fallbacks. Plain values in, no config: ``training.factory`` builds the cost guard's decision
(``CostForecast``) from the experiment and the run's measured costs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset
from cords_tune.selection.plan import FULL_DATA, SelectionPlan
from cords_tune.selection.random import RandomStrategy
from cords_tune.selection.schedule import SubsetSchedule

__all__ = ["CostForecast", "SelectionDriver"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CostForecast:
    """What a trial's gradient-based selections would cost, and the cost guard's decision
    (``training.cost_guard.forecast``).

    Attributes:
        selections: how many selections by gradients the trial makes (its first subset is random when it has no
            warm start: an untrained network's gradients say little).
        selection_s: their seconds, summed.
        share: the share of a selection cycle (one selection and ``every`` subset epochs) selection takes.
        falls_back: the trial trains on online random subsets instead: ``selection_s`` is above
            ``selection.min_cost_s`` and ``share`` above ``selection.max_cost_share``.
        reason: why, in words, for the log.
    """

    selections: int
    selection_s: float
    share: float
    falls_back: bool
    reason: str = ""


class SelectionDriver:
    """Chooses a trial's subset for each epoch.

    Args:
        strategy: the trial's strategy; ``None`` (or one whose plan uses no subsets) trains on the full data
            every epoch.
        every: ``selection.every``, the epochs between reselections (a plan that selects every epoch overrides it).
        warm_start_epochs: full-data epochs before the first subset.
        budget: the samples a subset sized by ``selection.fraction`` holds.
        shared_subsets: a shared strategy's run-wide subsets, one per reselection round (a trial longer than the
            rounds keeps the last).
        forecast: the cost guard's decision for this trial (``None``: no guard, the strategy as configured).
    """

    def __init__(
        self,
        strategy: SelectionStrategy | None,
        *,
        every: int,
        warm_start_epochs: int,
        budget: int,
        shared_subsets: Sequence[Subset] | None = None,
        forecast: CostForecast | None = None,
    ) -> None:
        self.configured = strategy
        self.plan: SelectionPlan = strategy.plan if strategy is not None else FULL_DATA
        self.schedule = SubsetSchedule(self.plan.reselect_every(every), warm_start_epochs,
                                       enabled=self.plan.uses_subsets)
        self.budget = budget
        self._shared = list(shared_subsets) if self.plan.shared and shared_subsets else None
        # The guard acts on per-trial selections by gradients only: elsewhere its decision is not kept.
        self.forecast = forecast if self.plan.needs_gradients else None
        self._random = RandomStrategy()
        self.subset: Subset | None = None
        self.fell_back = False  # the guard switched this trial to online random subsets

    @property
    def strategy(self) -> SelectionStrategy | None:
        """The strategy the trial selects with now: its own, or online random once the guard switched it."""
        return self._random if self.fell_back else self.configured

    def subset_for(self, epoch: int, context: Callable[[bool], SelectionContext]) -> tuple[Subset | None, str]:
        """The subset epoch ``epoch`` (0-based) trains on (``None``: the full data) and how it came:
        ``""`` (kept, or handed out), ``"plain"`` or ``"gradients"`` (a selection that read the model).

        Args:
            context: the selection context as the model stands, given whether to compute its gradients.
        """
        schedule = self.schedule
        if schedule.uses_full_data(epoch):
            self.subset = None
            return None, ""
        if not schedule.selects_at(epoch) and self.subset is not None:
            return self.subset, ""
        if self._shared is not None:  # chosen once for the whole run: nothing to select per trial
            self.subset = self._shared[min(schedule.round_at(epoch), len(self._shared) - 1)]
            return self.subset, ""
        self._guard(epoch)
        strategy = self.strategy
        if strategy.plan.needs_gradients and self.subset is None and schedule.warm_start_epochs == 0:
            # An untrained network's gradients say little about the data it will learn: like CORDS's
            # adaptive loaders, start from a random subset and select adaptively from the next reselection.
            strategy = self._random
        reads_model = strategy.plan.needs_gradients
        given = context(reads_model)
        self.subset = strategy.select(given, self.budget)
        log.debug("epoch %d: selected %d of %d samples", epoch, len(self.subset), given.num_samples)
        return self.subset, "gradients" if reads_model else "plain"

    def _guard(self, epoch: int) -> None:
        """Switch to online random at what would be this trial's first selection by gradients, where the cost
        guard's forecast says its selections cost too much."""
        if self.fell_back or self.forecast is None or not self.forecast.falls_back:
            return
        if self.subset is None and self.schedule.warm_start_epochs == 0:
            return  # the first subset is random anyway: the trial differs from its strategy's from the next one
        log.info("this trial trains on online random subsets from epoch %d: %s", epoch + 1, self.forecast.reason)
        self.fell_back = True

    def restore(self, subset: Subset | None, fell_back: bool) -> None:
        """Continue from a checkpoint's subset and fallback."""
        self.subset = subset
        self.fell_back = fell_back
