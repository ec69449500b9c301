"""``search.time_budget_s``: a search that stops starting trials once its time is spent, lets the running ones
finish the epoch they are in, and ends, so that the run goes on to its finalists.

Tune's own ``time_budget_s`` (a ``TimeoutStopper``) stops every trial at once when the time is up: a running
trial loses the epoch it is in, and the search ends as if interrupted. ``TimeBudget`` is a Stopper and a
Callback in one: once the budget is spent, each running trial stops at its next report (the epoch it was in is
kept), and when none of the trials that ran at that moment is running any more, ``stop_all`` ends the search:
the searcher proposes no more trials, and trials Tune had queued but not started end without training. A
queued trial that takes a slot freed in between trains one epoch at most: Tune starts queued trials whatever
its scheduler says, and a Stopper sees only results.

Tune pickles the object with the experiment (as the search's stopper and among its callbacks); it holds only
the search's key and finds this process's clock by it (``search_budget``): a resumed search counts the time
its earlier sessions took against the budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from ray import tune

from cords_tune.results.trial import TrialRecord

__all__ = ["BudgetClock", "TimeBudget", "search_budget", "budget_outcome"]

log = logging.getLogger(__name__)

_CLOCKS: dict[str, "BudgetClock"] = {}


@dataclass
class BudgetClock:
    """One search's budget in this process: when it is spent, and which trials were running then.

    It is spent at the deadline, or, where no trial had reported an epoch by then (Ray and the trials' workers
    starting on a loaded machine), at the first report after it: a search always has a trial to pick.
    """

    budget_s: float
    deadline: float  # time.monotonic()
    spent: bool = False
    reported: bool = False  # a trial has reported an epoch
    running_then: set[str] = field(default_factory=set)  # trial ids running when it was spent
    stopped: set[str] = field(default_factory=set)  # trial ids it stopped after an epoch
    _trials: list[Any] = field(default_factory=list, repr=False)  # Tune's own (live) list of trials

    def watch(self, trials: list[Any]) -> None:
        """Called at each step of the search with Tune's trials."""
        self._trials = trials
        # A resumed search's earlier trials reported before this process began.
        self.reported = self.reported or any((t.last_result or {}).get("training_iteration") for t in trials)
        self._check()

    def on_report(self, trial_id: str) -> bool:
        """Trial ``trial_id`` reported an epoch: whether it must stop now (the budget is spent)."""
        self.reported = True
        self._check()
        if self.spent:
            self.stopped.add(trial_id)
        return self.spent

    def _check(self) -> None:
        if self.spent or not self.reported or time.monotonic() < self.deadline:
            return
        self.spent = True
        self.running_then = {t.trial_id for t in self._trials if t.status == "RUNNING"}
        log.info("search.time_budget_s (%g s) spent; %d running trials finish their epoch", self.budget_s,
                 len(self.running_then))

    @property
    def expired(self) -> bool:
        """Its deadline has passed (spent or not: a search restored as ended takes no step to notice)."""
        return time.monotonic() >= self.deadline

    @property
    def done(self) -> bool:
        """Spent, and no trial that was running then is running still."""
        return self.spent and not any(t.status == "RUNNING" and t.trial_id in self.running_then
                                      for t in self._trials)


@contextmanager
def search_budget(key: str, budget_s: float | None, *, spent_before_s: float = 0.0) -> Iterator[BudgetClock | None]:
    """The clock of search ``key`` while the block runs: ``budget_s`` less what earlier sessions of the same
    search took (``spent_before_s``), from now. ``None`` without a budget."""
    if budget_s is None:
        yield None
        return
    clock = BudgetClock(budget_s, time.monotonic() + budget_s - spent_before_s)
    _CLOCKS[key] = clock
    try:
        yield clock
    finally:
        _CLOCKS.pop(key, None)


class TimeBudget(tune.Callback, tune.Stopper):
    """The search's stopper and one of its callbacks (pass the same object as both)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def _clock(self) -> BudgetClock | None:
        return _CLOCKS.get(self.key)

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        clock = self._clock()
        if clock is not None:
            clock.watch(trials)

    def __call__(self, trial_id: str, result: dict) -> bool:
        clock = self._clock()
        return clock is not None and clock.on_report(trial_id)  # stopped after this report: its epoch is kept

    def stop_all(self) -> bool:
        clock = self._clock()
        return clock is not None and clock.done


def budget_outcome(
    clock: BudgetClock | None, stopped: bool, trials: list[TrialRecord], asked: int
) -> tuple[bool, list[TrialRecord], tuple[str, ...]]:
    """After a search: whether its budget ended it (not an interrupt: ``stopped``), its trials without those
    Tune had queued but never trained, and the summary's note saying so."""
    if clock is None or stopped or not (clock.spent or clock.expired):
        return False, trials, ()
    trained = [replace(t, status="out_of_time") if t.status == "stopped" and t.trial_id in clock.stopped else t
               for t in trials if t.epochs or t.error]  # stopped by the budget, not by ASHA
    if len(trained) >= asked:
        return True, trained, ()
    note = (f"the time budget (search.time_budget_s = {clock.budget_s:g} s) stopped the search after "
            f"{len(trained)} of {asked} trials")
    log.info("%s", note)
    return True, trained, (note,)
