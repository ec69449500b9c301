"""The search algorithms of a tuning run, built from the experiment: Optuna's sampler (TPE or random) behind
Ray Tune's ``OptunaSearch``, and ASHA (or FIFO) as the scheduler. Running the phases is the runner's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from cords_tune.config import ExperimentConfig
from cords_tune.selection import plan_for

__all__ = ["build_searcher", "build_scheduler", "RungSchedule", "rung_schedule", "asha_grace_period", "decision_epochs",
           "quiet_optuna"]

log = logging.getLogger(__name__)


def build_searcher(config: ExperimentConfig) -> Any:
    """``OptunaSearch`` over the experiment's space with its seeded sampler (its study in memory, checkpointed
    with Tune's experiment state; ``tracking.StudyRecorder`` keeps the user's copy); ``None`` when nothing is
    searched (Tune then runs ``num_trials`` copies of the fixed config)."""
    import optuna

    from cords_tune.tuning.noise import ContinuedTrialsOptunaSearch

    search = config.search
    if not search.space:
        return None
    quiet_optuna()
    if search.algorithm == "tpe":
        # TPE starts from random trials; a third of the budget (3 to 10) before it models the space.
        startup = max(3, min(10, search.num_trials // 3))
        sampler = optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=startup)
    else:
        sampler = optuna.samplers.RandomSampler(seed=config.seed)
    return ContinuedTrialsOptunaSearch(sampler=sampler)


def quiet_optuna() -> None:
    """Optuna logs every study it creates or opens (the searcher's, the study recorder's), restored ones too;
    those lines would break into the run's progress."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def build_scheduler(config: ExperimentConfig) -> Any:
    """ASHA on epochs (``training_iteration``) at the rungs of ``rung_schedule`` when enabled, else FIFO: every
    trial runs all its epochs."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    rungs = rung_schedule(config)
    if rungs is None:
        return FIFOScheduler()
    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=rungs.max_epochs,
        grace_period=rungs.grace_period,
        reduction_factor=rungs.reduction_factor,
    )


@dataclass(frozen=True)
class RungSchedule:
    """ASHA's rungs over a trial's epochs: what ``build_scheduler`` gives Ray's ``ASHAScheduler`` (one bracket)
    and what ``decision_epochs`` reads, so that the two cannot drift.

    Attributes:
        grace_period: the first rung's epoch (``asha_grace_period``).
        reduction_factor: the ratio between successive rungs' milestones.
        max_epochs: a trial's epochs (``training.epochs``), ASHA's ``max_t``.
    """

    grace_period: int
    reduction_factor: float
    max_epochs: int

    @property
    def milestones(self) -> tuple[float, ...]:
        """The rungs' milestones, lowest first: ``grace_period * reduction_factor ** k`` (may be fractional),
        as many as Ray's ASHA makes for these three numbers (``tests/tuning/test_decision_epochs.py`` checks
        them against the rungs Ray built, through ``ray_compat.asha_rungs``)."""
        count = int(np.log(self.max_epochs / self.grace_period) / np.log(self.reduction_factor) + 1)
        return tuple(self.grace_period * self.reduction_factor**k for k in range(count))

    def decision_epochs(self) -> frozenset[int]:
        """The epochs at which ASHA reads a trial's metric: the first reported epoch that reaches each milestone
        (one report per epoch), and the last epoch."""
        last = self.max_epochs
        milestones = list(reversed(self.milestones))  # ASHA looks from the highest rung down
        recorded: set[float] = set()
        epochs = {last}
        for epoch in range(1, last):  # at the last epoch ASHA stops the trial without consulting a rung
            reached = next((m for m in milestones if epoch >= m and m not in recorded), None)
            if reached is not None:
                recorded.add(reached)
                epochs.add(epoch)
        return frozenset(epochs)


def rung_schedule(config: ExperimentConfig) -> RungSchedule | None:
    """The ASHA rungs of ``config``'s search; ``None`` when ASHA is off (FIFO). Pass the driver's config: the grace
    period depends on the extremes of a searched ``warm_start_epochs``, which a trial's own config no longer
    holds."""
    asha = config.search.asha
    if not asha.enabled:
        return None
    return RungSchedule(grace_period=asha_grace_period(config), reduction_factor=asha.reduction_factor,
                        max_epochs=config.training.epochs)


def asha_grace_period(config: ExperimentConfig) -> int:
    """ASHA's first rung, moved past the full-data warm start when needed: a trial stopped during its
    warm start would have paid full-data prices and never trained on a subset."""
    warm = config.selection.warm_start_epochs
    domain = config.search.space.get("selection.warm_start_epochs")
    if domain is not None:
        warm = max([warm] + [int(v) for v in domain.extremes])
    grace = config.search.asha.grace_period
    if plan_for(config.selection).uses_subsets and grace <= warm:
        log.warning(
            "search.asha.grace_period %d is within the %d full-data warm-start epochs; using %d so that "
            "trials are compared once they have trained on subsets", grace, warm, warm + 1,
        )
        grace = warm + 1
    return min(grace, config.training.epochs)


def decision_epochs(config: ExperimentConfig) -> frozenset[int]:
    """The epochs at which the scheduler of ``build_scheduler`` reads a trial's validation metric: ASHA's rungs
    and the last epoch (``RungSchedule.decision_epochs``), or the last epoch alone under FIFO (checkpoints decide
    nothing). What a ``Trainer`` evaluates at with ``training.validation: at_decisions``. Pass the driver's config
    (see ``rung_schedule``)."""
    rungs = rung_schedule(config)
    return frozenset({config.training.epochs}) if rungs is None else rungs.decision_epochs()
