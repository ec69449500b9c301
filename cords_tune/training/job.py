"""One training job: a frozen description of what to train, and ``run_job``, which trains it.

Every training of a run is a job: a trial (subsets, reported each epoch, restored from its checkpoint), a
finalist and the final retrain (the full data, tested once), the full-data baseline's best model (restored and
tested as it stands), ``cords-tune train``, fidelity's trainings and compression's fine-tune of a pruned model.
Plain torch: nothing here imports Ray; ``cords_tune.tuning.worker`` runs a job on a Ray worker.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from cords_tune.config import ExperimentConfig
from cords_tune.energy import EnergyMeter
from cords_tune.final_model import FinalModel
from cords_tune.metrics import Evaluation
from cords_tune.models.given import GivenModel
from cords_tune.results.energy import Energy
from cords_tune.selection import Subset
from cords_tune.training.cost_guard import CycleCost
from cords_tune.training.distributed import Shard, ShardedTrainer, per_rank_config
from cords_tune.training.factory import build_parts, build_trainer
from cords_tune.training.trainer import EpochStats, Trainer

__all__ = ["JobHooks", "RunningJob", "TrainingJob", "JobOutcome", "run_job"]

_SPLITS = ("val", "test")


class JobHooks:
    """What a job's caller does as it runs (the base does nothing): a trial restores its checkpoint and reports
    each epoch to Tune; a finalist sends its epochs to the driver."""

    def restore(self, device: torch.device) -> Mapping[str, Any] | None:
        """The trainer state to continue from (``Trainer.state_dict``, on ``device``), or ``None`` to start
        afresh. Called once, after the trainer is built and before its first epoch."""
        return None

    def on_epoch(self, stats: EpochStats, job: RunningJob) -> None:
        """Called after each epoch."""


@dataclass(frozen=True)
class TrainingJob:
    """What to train, where and how long: everything ``run_job`` needs.

    Attributes:
        config: the configuration to train (no search space left), as this process runs it.
        data: the dataset (on Ray, the worker resolves an ObjectRef of it before the job runs).
        model: a model factory given from Python (``model.name: python``), else ``None``.
        epochs: length of the lr schedule and of the training; ``None``: ``config.training.epochs``.
        full_data: train on all training data every epoch (``True``), or as ``config.selection`` says.
        decision_epochs: the epochs a scheduler decides at (see ``Trainer``); ``None``: every epoch is evaluated.
        shared_subsets: a shared strategy's subsets, one per reselection round (on Ray, an ObjectRef of them
            that the worker resolves).
        selection_cost: the run's measured selection cycle, for the cost guard.
        module: a built network to train in place of the one the config names (compression's pruned model).
        train: run the remaining epochs; ``False`` evaluates the (restored) model as it stands.
        evaluate: the splits scored once after training ("val", "test"); the last epoch's validation is in
            ``JobOutcome.history`` already.
        keep_model: the outcome carries the model's weights as a ``FinalModel`` (``retrained`` where it
            trained here, else a finished trial's model as it stands).
        hooks: what the caller does as it runs.
        workers: data-parallel workers; ``run_job`` runs 1 (several: ``cords_tune.tuning.data_parallel``).
        until_epoch: stop after this epoch (a segment of a longer training: the lr schedule still spans
            ``epochs``); ``None``: train to the end.
        start_state: a trainer state to continue from (``JobOutcome.state`` of an earlier segment), applied
            before ``hooks.restore``; ``None``: start afresh.
        start_weights: model weights (a ``state_dict``) to start from, the optimizer, schedule and epoch count
            afresh (a finalist started from its subset trial's model); ``None``: the model's own initialization.
        keep_state: the outcome carries the trainer's state (``JobOutcome.state``, CPU tensors) to continue from.
    """

    config: ExperimentConfig
    data: Any
    model: GivenModel | None = None
    epochs: int | None = None
    full_data: bool = False
    decision_epochs: Collection[int] | None = None
    shared_subsets: Sequence[Subset] | None = None
    selection_cost: CycleCost | None = None
    module: nn.Module | None = field(default=None, repr=False)
    train: bool = True
    evaluate: tuple[str, ...] = ()
    keep_model: bool = False
    hooks: JobHooks = field(default_factory=JobHooks, repr=False)
    workers: int = 1
    until_epoch: int | None = None
    start_state: Mapping[str, Any] | None = field(default=None, repr=False)
    start_weights: Mapping[str, Any] | None = field(default=None, repr=False)
    keep_state: bool = False

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"The 'workers' parameter of TrainingJob must be at least 1. Got {self.workers!r} "
                             f"instead.")
        if self.until_epoch is not None and self.until_epoch < 1:
            raise ValueError(f"The 'until_epoch' parameter of TrainingJob must be at least 1 or None. Got "
                             f"{self.until_epoch!r} instead.")
        unknown = [split for split in self.evaluate if split not in _SPLITS]
        if unknown:
            raise ValueError(f"The 'evaluate' parameter of TrainingJob must name splits of {_SPLITS}. Got "
                             f"{unknown!r} instead.")


@dataclass
class RunningJob:
    """A job as it runs, as its hooks see it: its trainer and the energy it used so far."""

    trainer: Trainer
    meter: EnergyMeter | None = None

    def energy(self) -> Energy:
        return self.meter.read() if self.meter is not None else Energy()


@dataclass(frozen=True)
class JobOutcome:
    """What a job did.

    Attributes:
        history: the stats of each epoch it trained (none for a job that only evaluates).
        epochs: the epochs its model has been trained for, a restored checkpoint's included.
        scores: the evaluations ``TrainingJob.evaluate`` asked for, by split.
        model: the trained weights, where ``keep_model`` asked for them.
        wall_s: from the start of ``run_job`` (or of its placement on a worker) to its end.
        energy: what the job used up to its last evaluation (``Energy()`` without a meter).
        node: where it ran (a Ray node id), or ``"local"``.
        trained: it ran its epochs (``False``: it evaluated a restored model as it stood).
        state: the trainer's state at its end, where ``keep_state`` asked for it (``Trainer.state_dict``).
        began_at: when it began on its Ray worker (``time.time()``; ``None`` off Ray): the wait from its
            submission is the worker's start.
    """

    history: list[EpochStats]
    epochs: int
    scores: dict[str, Evaluation]
    model: FinalModel | None
    wall_s: float
    energy: Energy = Energy()
    node: str = "local"
    trained: bool = True
    state: dict[str, Any] | None = field(default=None, repr=False)
    began_at: float | None = None

    @property
    def train_s(self) -> float:
        return sum(s.train_s for s in self.history)

    @property
    def last(self) -> EpochStats | None:
        return self.history[-1] if self.history else None


def run_job(job: TrainingJob, *, meter: EnergyMeter | None = None, shard: Shard | None = None) -> JobOutcome:
    """Train ``job`` and evaluate what it asks for, in this process.

    Args:
        job: what to train.
        meter: the meter of this process's energy, read by the hooks and at the end.
        shard: which rank of ``job.workers`` data-parallel ranks this process is (their process group set up);
            only rank 0 calls ``hooks.on_epoch``, scores the splits ``evaluate`` names and keeps the model and
            state. ``None``: a job of one worker.
    """
    if job.workers != (1 if shard is None else shard.world):
        raise ValueError(f"run_job trains on one worker; a job of {job.workers} data-parallel workers runs with "
                         f"cords_tune.tuning.data_parallel")
    if shard is not None and not shard.lead:
        job = replace(job, hooks=_OnlyRestore(job.hooks), evaluate=(), keep_model=False, keep_state=False)
    started = time.perf_counter()
    trainer = _trainer(job, shard)
    running = RunningJob(trainer, meter)
    if job.start_weights is not None:
        trainer.model.load_state_dict(dict(job.start_weights))
    if job.start_state is not None:
        trainer.load_state_dict(dict(job.start_state))
    state = job.hooks.restore(trainer.device)
    if state is not None:
        trainer.load_state_dict(dict(state))
    history = trainer.fit(lambda stats: job.hooks.on_epoch(stats, running), until=job.until_epoch) if job.train else []
    scores = {split: trainer.evaluate_test() if split == "test" else trainer.evaluate(trainer.val)
              for split in job.evaluate}
    energy = running.energy()
    model = None
    if job.keep_model:
        test = scores.get("test")
        model = FinalModel.from_training(trainer.model, job.config, job.data, epochs=trainer.epoch,
                                         test_accuracy=test.accuracy if test else None, retrained=job.train)
    return JobOutcome(history=history, epochs=trainer.epoch, scores=scores, model=model,
                      wall_s=time.perf_counter() - started, energy=energy, trained=job.train,
                      state=_cpu(trainer.state_dict()) if job.keep_state else None)


def _cpu(value: Any) -> Any:
    """``value`` with every tensor in it moved to the CPU (a state sent back to the driver)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {key: _cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(item) for item in value)
    return value


def _trainer(job: TrainingJob, shard: Shard | None) -> Trainer:
    if shard is not None:
        config = per_rank_config(job.config, shard.world, full_data=job.full_data)
        parts = build_parts(config, job.data, full_data=True, model=job.model)
        if job.module is not None:
            parts = replace(parts, model=job.module)
        return ShardedTrainer(config, parts, shard, epochs=job.epochs, decision_epochs=job.decision_epochs)
    if job.module is None:
        return build_trainer(job.config, job.data, epochs=job.epochs, full_data=job.full_data, model=job.model,
                             decision_epochs=job.decision_epochs, shared_subsets=job.shared_subsets,
                             selection_cost=job.selection_cost)
    parts = replace(build_parts(job.config, job.data, full_data=job.full_data, model=job.model,
                                shared_subsets=job.shared_subsets), model=job.module)
    return Trainer(job.config, parts, epochs=job.epochs, decision_epochs=job.decision_epochs)


class _OnlyRestore(JobHooks):
    """A data-parallel job's hooks on a rank other than 0: its restore (every rank starts alike), no reports."""

    def __init__(self, hooks: JobHooks) -> None:
        self.hooks = hooks

    def restore(self, device: torch.device) -> Mapping[str, Any] | None:
        return self.hooks.restore(device)
