"""The search algorithms of a tuning run, built from the experiment: Optuna's sampler (TPE or random) behind
Ray Tune's ``OptunaSearch``, and ASHA (or FIFO) as the scheduler. Running the phases is the runner's."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from cords_tune.config import ExperimentConfig
from cords_tune.selection import uses_subsets

__all__ = ["build_searcher", "build_scheduler", "asha_grace_period", "decision_epochs", "quiet_optuna"]

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
    """ASHA on epochs (``training_iteration``) when enabled, else FIFO: every trial runs all its epochs."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    asha = config.search.asha
    if not asha.enabled:
        return FIFOScheduler()
    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=config.training.epochs,
        grace_period=asha_grace_period(config),
        reduction_factor=asha.reduction_factor,
    )


def asha_grace_period(config: ExperimentConfig) -> int:
    """ASHA's first rung, moved past the full-data warm start when needed: a trial stopped during its
    warm start would have paid full-data prices and never trained on a subset."""
    warm = config.selection.warm_start_epochs
    domain = config.search.space.get("selection.warm_start_epochs")
    if domain is not None:
        warm = max([warm] + [int(v) for v in domain.extremes])
    grace = config.search.asha.grace_period
    if uses_subsets(config.selection.strategy) and grace <= warm:
        log.warning(
            "search.asha.grace_period %d is within the %d full-data warm-start epochs; using %d so that "
            "trials are compared once they have trained on subsets", grace, warm, warm + 1,
        )
        grace = warm + 1
    return min(grace, config.training.epochs)


def decision_epochs(config: ExperimentConfig) -> frozenset[int]:
    """The epochs at which the scheduler of ``build_scheduler`` reads a trial's validation metric: ASHA's rungs
    and the last epoch, or the last epoch alone under FIFO (checkpoints decide nothing). What a ``Trainer``
    evaluates at with ``training.validation: at_decisions``.

    A rung is recorded at the first reported epoch that reaches its milestone, as Ray's ASHA does it (the
    milestones ``grace_period * reduction_factor ** k`` may be fractional). Pass the driver's config: the grace
    period depends on the extremes of a searched ``warm_start_epochs``, which a trial's own config no longer holds.
    """
    last = config.training.epochs
    if not config.search.asha.enabled:
        return frozenset({last})
    grace = asha_grace_period(config)
    factor = config.search.asha.reduction_factor
    count = int(np.log(last / grace) / np.log(factor) + 1)  # ray.tune.schedulers.async_hyperband._Bracket
    milestones = [grace * factor**k for k in reversed(range(count))]
    recorded: set[float] = set()
    epochs = {last}
    for epoch in range(1, last):  # at the last epoch ASHA stops the trial without consulting a rung
        reached = next((m for m in milestones if epoch >= m and m not in recorded), None)
        if reached is not None:
            recorded.add(reached)
            epochs.add(epoch)
    return frozenset(epochs)
