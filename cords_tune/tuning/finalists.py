"""Settle the subset search's pick on the full data: its top-k configurations (``final.top_k``) are each
trained on the full data as Ray tasks with a trial's resources, side by side, and the one with the best
full-data validation score is the result. Subsets rank configurations well but not perfectly, and the top is
where a wrong order costs most; a handful of full-data trainings at the end is cheap next to a full-data
search."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.models.given import GivenModel
from cords_tune.rank_agreement import best_of
from cords_tune.results.energy import Energy
from cords_tune.results.final import FinalResult
from cords_tune.results.finalist import FinalistRecord
from cords_tune.results.trial import TrialRecord
from cords_tune.training.job import JobHooks, RunningJob
from cords_tune.training.trainer import EpochStats
from cords_tune.tuning.retrain import final_result, retrain_job
from cords_tune.tuning.session import first_line
from cords_tune.tuning.worker import submit

__all__ = ["Finalist", "Settled", "FinalistsFailed", "rank_trials", "pick_winner", "settle_finalists"]


@dataclass(frozen=True)
class Finalist:
    """One of the top-k configurations, trained on the full data (``result``), or whose training failed
    (``error``)."""

    rank: int  # 1: the subset search's best
    trial: TrialRecord  # its row of the subset search
    config: ExperimentConfig
    result: FinalResult | None
    done_after_s: float  # from submitting the finalists to this one's result
    error: str | None = None

    @property
    def diverged(self) -> bool:
        """Its full-data training stopped on a loss that was not finite (the trainer ends such a training
        before its last epoch)."""
        return self.result is not None and self.result.epochs < self.config.final_epochs

    def score(self) -> float:
        """Its full-data validation score (``search.metric``); NaN where it failed or diverged."""
        if self.result is None or self.diverged:
            return math.nan
        return self.result.score(self.config.search.metric)

    def record(self, *, picked: bool) -> FinalistRecord:
        """What the summary keeps of it."""
        result = self.result
        return FinalistRecord(
            rank=self.rank,
            trial_id=self.trial.trial_id,
            params=self.trial.params,
            subset_score=self.trial.best_metric,
            full_data_score=self.score(),
            val_accuracy=result.val_accuracy if result else None,
            val_loss=result.val_loss if result else None,
            test_accuracy=result.test_accuracy if result else None,
            epochs=result.epochs if result else 0,
            wall_s=result.wall_s if result else None,
            energy_j=result.energy.joules if result else None,
            energy_source=result.energy.source if result else None,
            done_after_s=self.done_after_s,
            diverged=self.diverged,
            error=self.error,
            picked=picked,
        )


class FinalistsFailed(Exception):
    """Every finalist's full-data training failed."""


@dataclass(frozen=True)
class Settled:
    finalists: list[Finalist]  # in subset rank order
    winner_rank: int

    @property
    def winner(self) -> Finalist:
        return next(f for f in self.finalists if f.rank == self.winner_rank)

    @property
    def changed_pick(self) -> bool:
        """The full data preferred another finalist to the subset search's best."""
        return self.winner_rank != 1

    @property
    def energy(self) -> Energy:
        """What the finalists' full-data trainings used (a failed one's is not known)."""
        return Energy.total(f.result.energy for f in self.finalists if f.result is not None)

    def records(self) -> list[FinalistRecord]:
        return [f.record(picked=f.rank == self.winner_rank) for f in self.finalists]

    def without_models(self, final: FinalResult) -> Settled:
        """The same, with the winner's result replaced by ``final`` (its model saved) and the other models
        dropped."""
        def kept(f: Finalist) -> Finalist:
            if f.rank == self.winner_rank:
                return replace(f, result=final)
            return replace(f, result=replace(f.result, model=None)) if f.result else f

        return Settled([kept(f) for f in self.finalists], self.winner_rank)


def rank_trials(usable: list[TrialRecord], mode: str) -> list[TrialRecord]:
    """Usable trials best first by their subset score (earlier trials first on ties), one per configuration:
    a configuration the searcher proposed twice is one finalist."""
    sign = 1.0 if mode == "max" else -1.0
    ranked = sorted(usable, key=lambda t: (-sign * t.best_metric, t.index))
    distinct: dict[str, TrialRecord] = {}
    for trial in ranked:
        distinct.setdefault(repr(sorted(trial.params.items())), trial)
    return list(distinct.values())


def pick_winner(finalists: list[Finalist], mode: str) -> Finalist:
    """The finalist with the best full-data validation score; a tie goes to the better subset rank. One
    that diverged wins only where every finalist did (then the best-ranked); one that failed never wins."""
    ordered = sorted((f for f in finalists if f.result is not None), key=lambda f: f.rank)
    return ordered[best_of([f.score() for f in ordered], mode=mode)]


def settle_finalists(
    config: ExperimentConfig,
    ranked: list[TrialRecord],
    data_ref: Any,
    count: int,
    *,
    on_done: Callable[[Finalist, int], None] | None = None,
    on_epoch: Callable[[int, EpochStats], None] | None = None,
    model: GivenModel | None = None,
) -> Settled:
    """Train the top ``count`` of ``ranked`` on the full data (Ray tasks, submitted best first; with fewer free
    slots than finalists Ray may still start them in another order) and pick the winner. ``on_done(finalist,
    remaining)`` is called as each one finishes, ``on_epoch(rank, stats)`` after each epoch of each (on the
    driver). A finalist whose training fails is recorded with its error and the others go on; if every one
    fails, ``FinalistsFailed`` says why."""
    import ray
    from ray.util.queue import Queue

    chosen = ranked[:count]
    configs = [apply_params(config, trial.params) for trial in chosen]
    started = time.perf_counter()
    epochs = Queue(actor_options={"num_cpus": 0}) if on_epoch else None  # never waits for the finalists' CPUs
    pending = {submit(retrain_job(c, data_ref, model, None if epochs is None else _EpochsTo(epochs, rank))): rank
               for rank, c in enumerate(configs, 1)}
    done: dict[int, Finalist] = {}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=None if epochs is None else 0.5)
            if epochs is not None:
                for rank, stats in epochs.get_nowait_batch(epochs.qsize()):
                    on_epoch(rank, stats)
            if not ready:
                continue
            rank = pending.pop(ready[0])
            result, error = None, None
            try:
                result = final_result(ray.get(ready[0]))
            except ray.exceptions.RayError as failure:  # this finalist is lost; the others still count
                error = first_line(failure)
            done[rank] = Finalist(rank, chosen[rank - 1], configs[rank - 1], result, time.perf_counter() - started,
                                  error)
            if on_done:
                on_done(done[rank], len(pending))
    finally:
        for ref in pending:  # interrupted: the others are not wanted any more
            ray.cancel(ref, force=True)
        if epochs is not None:
            epochs.shutdown()
    finalists = [done[rank] for rank in sorted(done)]
    if all(f.result is None for f in finalists):
        raise FinalistsFailed(finalists[0].error)
    return Settled(finalists, pick_winner(finalists, config.search.mode).rank)


class _EpochsTo(JobHooks):
    """A finalist job's hooks: its epochs, to the driver's queue."""

    def __init__(self, queue: Any, rank: int) -> None:
        self.queue = queue  # a ray.util.queue.Queue
        self.rank = rank

    def on_epoch(self, stats: EpochStats, job: RunningJob) -> None:
        self.queue.put_nowait((self.rank, stats))
