"""The finalists' race on the full data: successive halving over the subset search's top-k configurations.

Each candidate trains in segments, one Ray task each (a trial's resources), from one rung to the next; its
trainer state goes through the object store between them, so it never restarts, and a slot is free between
segments (fewer slots than candidates only queue the segments). At each rung the candidates that reached it are
ranked by their validation score there; the best ``1/final.reduction_factor`` (at least one) train on and the
others stop. The survivors train to the final epochs and are tested; the best of them is the winner."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.models.given import GivenModel
from cords_tune.results.energy import Energy
from cords_tune.results.final import FinalResult
from cords_tune.results.finalist import RaceRecord, RungRecord
from cords_tune.results.trial import TrialRecord
from cords_tune.training.job import JobHooks, JobOutcome, RunningJob, TrainingJob
from cords_tune.training.trainer import EpochStats
from cords_tune.tuning.finalists import Finalist, FinalistsFailed, Settled, epoch_score, pick_winner
from cords_tune.tuning.retrain import final_result
from cords_tune.tuning.session import first_line
from cords_tune.tuning.worker import submit

__all__ = ["WeightsFor", "race_rungs", "winner_workers", "settle_finalists"]


def race_rungs(final_epochs: int, candidates: int, reduction_factor: int, given: list[int] | None = None) -> list[int]:
    """The full-data epochs at which the race compares its candidates: ``given`` (``final.rungs``), else
    ``final_epochs / reduction_factor^i`` for i = 1 .. as many rungs as it takes to leave one candidate, rounded,
    each in [1, final_epochs - 1], ascending. One candidate: no rung."""
    if candidates <= 1:
        return []
    if given is not None:
        return sorted({r for r in given if 1 <= r < final_epochs})
    count, reach = 0, 1
    while reach < candidates:
        count, reach = count + 1, reach * reduction_factor
    epochs = {round(final_epochs / reduction_factor ** i) for i in range(1, count + 1)}
    return sorted(e for e in epochs if 1 <= e < final_epochs)


def winner_workers(config: ExperimentConfig) -> int:
    """Data-parallel workers for the winner's training once it is alone: ``final.workers``, at most the trial
    slots free in the cluster now ("auto": all of them), and a number that splits its batch evenly."""
    import ray

    from cords_tune.training.distributed import usable_workers

    requested = config.final.workers
    if requested == 1:
        return 1
    resources = config.resources
    wanted = ray.cluster_resources() if requested == "auto" else {
        "CPU": requested * resources.cpus_per_trial, "GPU": requested * resources.gpus_per_trial}

    def fit(free: dict[str, float]) -> int:
        slots = [free.get("CPU", 0.0) / resources.cpus_per_trial] if resources.cpus_per_trial else []
        if resources.gpus_per_trial:
            slots.append(free.get("GPU", 0.0) / resources.gpus_per_trial)
        return int(min(slots)) if slots else 1

    # The legs before have just ended: Ray reports their slots free a moment later.
    deadline, most = time.monotonic() + _FREED_WITHIN_S, 0
    while True:
        most = max(most, fit(ray.available_resources()))
        if most >= fit(wanted) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return usable_workers(config.training.batch_size, most if requested == "auto" else min(requested, most))


_FREED_WITHIN_S = 3.0


WeightsFor = Callable[[TrialRecord], Mapping[str, Any] | None]


@dataclass(eq=False)
class _Candidate:
    """A finalist as the race runs it: what its segments did so far."""

    rank: int
    trial: TrialRecord
    config: ExperimentConfig
    state: Any = None  # an ObjectRef of its trainer state after its last segment
    history: list[EpochStats] = field(default_factory=list)
    result: FinalResult | None = None
    error: str | None = None
    stopped_at: int | None = None
    device_s: float = 0.0
    wall_s: float = 0.0
    energy: Energy = field(default_factory=Energy)
    done_after_s: float = 0.0

    def finalist(self) -> Finalist:
        return Finalist(self.rank, self.trial, self.config, self.result, self.done_after_s, self.error,
                        stopped_at=self.stopped_at, device_s=self.device_s, history=tuple(self.history),
                        spent=self.energy if self.history else None,
                        spent_wall_s=self.wall_s if self.history else None)


@dataclass
class _Race:
    """The race's bookkeeping across its legs (a leg: every live candidate's segment up to the next rung)."""

    config: ExperimentConfig
    data_ref: Any
    model: GivenModel | None
    rungs: list[int]
    hooks: Callable[..., JobHooks]  # of a candidate's rank
    weights_for: WeightsFor | None
    started: float = field(default_factory=time.perf_counter)
    waits: list[float] = field(default_factory=list)  # submission to the training's start, per segment
    device_s: float = 0.0
    workers: int = 1

    def job(self, candidate: _Candidate, until: int | None, workers: int) -> TrainingJob:
        last = until is None
        weights = None
        if candidate.state is None and self.weights_for is not None and self.config.final.warm_start:
            import ray

            found = self.weights_for(candidate.trial)
            weights = ray.put(dict(found)) if found is not None else None
        return TrainingJob(candidate.config, self.data_ref, model=self.model, epochs=candidate.config.final_epochs,
                           full_data=True, decision_epochs=self.rungs, until_epoch=until, keep_state=not last,
                           start_state=candidate.state, start_weights=weights, workers=workers,
                           evaluate=("test",) if last else (), keep_model=last, hooks=self.hooks(candidate.rank))

    def took(self, candidate: _Candidate, outcome: JobOutcome, submitted_at: float, workers: int) -> None:
        """Count a finished segment: its epochs, wall-clock, energy, slot-seconds and wait for a worker."""
        held = outcome.wall_s * workers
        candidate.history.extend(outcome.history)
        candidate.wall_s += outcome.wall_s
        candidate.energy = candidate.energy + outcome.energy
        candidate.device_s += held
        self.device_s += held
        if outcome.began_at is not None:
            self.waits.append(max(0.0, outcome.began_at - submitted_at))

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def settle_finalists(
    config: ExperimentConfig,
    ranked: list[TrialRecord],
    data_ref: Any,
    count: int,
    *,
    on_done: Callable[[Finalist, int], None] | None = None,
    on_epoch: Callable[[int, EpochStats], None] | None = None,
    on_rung: Callable[[RungRecord], None] | None = None,
    model: GivenModel | None = None,
    start_weights_for: WeightsFor | None = None,
) -> Settled:
    """Race the top ``count`` of ``ranked`` on the full data and settle the winner (see the module's docstring).
    ``on_done(finalist, remaining)`` is called as each candidate stops, fails or finishes, ``on_epoch(rank,
    stats)`` after each epoch of each (on the driver), ``on_rung(rung)`` after each decision.
    ``start_weights_for(trial)``: the weights a candidate starts from where ``final.warm_start`` is set. A
    candidate whose task fails is recorded with its error and the others go on; if every one fails,
    ``FinalistsFailed`` says why."""
    from ray.util.queue import Queue

    if on_epoch is None:
        return _race(config, ranked[:count], data_ref, lambda rank: JobHooks(), lambda: None, on_done, on_rung, model,
                     start_weights_for)
    epochs = Queue(actor_options={"num_cpus": 0})  # never waits for the finalists' CPUs

    def poll() -> None:
        for rank, stats in epochs.get_nowait_batch(epochs.qsize()):
            on_epoch(rank, stats)

    try:
        return _race(config, ranked[:count], data_ref, lambda rank: EpochsTo(epochs, rank), poll, on_done, on_rung,
                     model, start_weights_for)
    finally:
        epochs.shutdown()


def _race(
    config: ExperimentConfig,
    chosen: list[TrialRecord],
    data_ref: Any,
    hooks: Callable[..., JobHooks],
    poll: Callable[[], None],
    on_done: Callable[[Finalist, int], None] | None,
    on_rung: Callable[[RungRecord], None] | None,
    model: GivenModel | None,
    start_weights_for: WeightsFor | None,
) -> Settled:
    import ray

    candidates = [_Candidate(rank, trial, apply_params(config, trial.params)) for rank, trial in enumerate(chosen, 1)]
    final = config.final
    race = _Race(config, data_ref, model, race_rungs(config.final_epochs, len(candidates), final.reduction_factor,
                                                     final.rungs), hooks, start_weights_for)
    records: list[RungRecord] = []
    alive, remaining = list(candidates), len(candidates)

    def finished(candidate: _Candidate) -> None:
        nonlocal remaining
        remaining -= 1
        candidate.done_after_s = race.elapsed()
        if on_done:
            on_done(candidate.finalist(), remaining)

    for until in [*race.rungs, None]:
        workers = winner_workers(alive[0].config) if until is None and len(alive) == 1 else 1
        race.workers = workers if until is None else race.workers
        device_before = race.device_s
        pending = {submit(race.job(c, until, workers)): (c, time.time()) for c in alive}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                poll()
                for ref in ready:
                    candidate, submitted_at = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayError as failure:  # this candidate is lost; the others go on
                        candidate.error = first_line(failure)
                        finished(candidate)
                        continue
                    race.took(candidate, outcome, submitted_at, workers)
                    if until is None:
                        candidate.result = _whole(final_result(outcome), candidate)
                        finished(candidate)
                    else:
                        candidate.state = ray.put(outcome.state)
        finally:
            for ref in pending:  # interrupted: the others are not wanted any more
                ray.cancel(ref, force=True)
        if until is None:
            break
        compared = [c for c in alive if c.error is None]
        kept = _kept(compared, len(alive), until, config)
        records.append(_rung(compared, kept, until, race, race.device_s - device_before))
        alive = kept
        for candidate in compared:
            if all(candidate is not k for k in kept):
                candidate.stopped_at, candidate.state = until, None
                finished(candidate)
        if on_rung:
            on_rung(records[-1])
        if not alive:
            break
    poll()  # the last epochs' stats
    finalists = [c.finalist() for c in candidates]
    if all(f.result is None for f in finalists):
        raise FinalistsFailed(next((f.error for f in finalists if f.error), "no finalist finished"))
    winner = pick_winner(finalists, config.search.mode)
    record = RaceRecord(
        candidates=len(candidates), rungs=records, winner_rank=winner.rank, epochs=winner.result.epochs,
        wall_s=race.elapsed(), device_s=race.device_s, warm_start=bool(final.warm_start and start_weights_for),
        workers=race.workers, start_s=statistics.median(race.waits) if race.waits else None)
    return Settled(finalists, winner.rank, race=record)


def _score_at(candidate: _Candidate, epoch: int, metric: str) -> float:
    last = candidate.history[-1] if candidate.history else None
    return epoch_score(last, metric) if last is not None and last.epoch == epoch else math.nan


def _kept(compared: list[_Candidate], entered: int, epoch: int, config: ExperimentConfig) -> list[_Candidate]:
    """The candidates that train on after ``epoch``: the best ``ceil(entered / reduction_factor)`` by their score
    there (a tie: the better subset rank); one that diverged only where none has a score (the best-ranked)."""
    metric, sign = config.search.metric, 1.0 if config.search.mode == "max" else -1.0
    scored = [(c, _score_at(c, epoch, metric)) for c in compared]
    finite = sorted(((c, s) for c, s in scored if math.isfinite(s)), key=lambda cs: (-sign * cs[1], cs[0].rank))
    if not finite:
        return compared[:1]
    return [c for c, _ in finite[:max(1, math.ceil(entered / config.final.reduction_factor))]]


def _rung(compared: list[_Candidate], kept: list[_Candidate], epoch: int, race: _Race, device_s: float) -> RungRecord:
    metric = race.config.search.metric
    return RungRecord(epoch=epoch, ranks=[c.rank for c in compared],
                      scores=[_score_at(c, epoch, metric) for c in compared], kept=[c.rank for c in kept],
                      ended_after_s=race.elapsed(), device_s=device_s)


def _whole(result: FinalResult, candidate: _Candidate) -> FinalResult:
    """The last segment's result as that of the candidate's whole training: its time and energy summed over its
    segments."""
    return replace(result, wall_s=candidate.wall_s, train_s=sum(s.train_s for s in candidate.history),
                   energy=candidate.energy)


class EpochsTo(JobHooks):
    """A finalist segment's hooks: its epochs, to the driver's queue."""

    def __init__(self, queue: Any, rank: int) -> None:
        self.queue = queue  # a ray.util.queue.Queue
        self.rank = rank

    def on_epoch(self, stats: EpochStats, job: RunningJob) -> None:
        self.queue.put_nowait((self.rank, stats))
