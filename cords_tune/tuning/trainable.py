"""The function trainable: one trial = the sampled config, trained epoch by epoch, reported once per epoch
(so ASHA's ``training_iteration`` counts epochs)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from ray import tune

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DataBundle
from cords_tune.models.given import GivenModel
from cords_tune.results.energy import Energy
from cords_tune.results.slot_use import process_started_at
from cords_tune.training.cost_guard import CycleCost
from cords_tune.training.job import JobHooks, RunningJob, TrainingJob
from cords_tune.training.proxy import SharedSubset
from cords_tune.training.trainer import EpochStats
from cords_tune.tuning.algorithms import decision_epochs
from cords_tune.tuning.worker import run_on_worker, where_am_i

_IMPORTED_AT = time.time()  # when this worker had imported torch, Ray and the trainer: the start of its first trial
_PROCESS_STARTED_AT = process_started_at() or _IMPORTED_AT

__all__ = ["trial_trainable", "train_trial", "CHECKPOINT_FILE"]

CHECKPOINT_FILE = "trainer.pt"


def trial_trainable(
    config: ExperimentConfig, data: Any, model: GivenModel | None = None, shared: Any = None,
    selection_cost: CycleCost | None = None,
) -> Any:
    """``train_trial`` bound to ``config``, the data (a ``DataBundle`` or an ObjectRef of one), a model given
    from Python, a shared strategy's subsets (a ``SharedSubset`` or an ObjectRef of one) and the run's measured
    selection cycle (the cost guard's figures), asking Tune for a trial's resources: what a ``tune.Tuner`` runs."""
    decisions = decision_epochs(config) if config.training.validation == "at_decisions" else None
    return tune.with_resources(
        tune.with_parameters(train_trial, config=config, data=data, model=model, decisions=decisions, shared=shared,
                             selection_cost=selection_cost),
        {"cpu": config.resources.cpus_per_trial, "gpu": config.resources.gpus_per_trial},
    )


def train_trial(
    params: dict[str, Any],
    *,
    config: ExperimentConfig,
    data: DataBundle,
    model: GivenModel | None = None,
    decisions: frozenset[int] | None = None,
    shared: SharedSubset | None = None,
    selection_cost: CycleCost | None = None,
) -> None:
    """Train ``config`` with the trial's sampled ``params`` on the shared dataset.

    ``data`` is resolved by ``tune.with_parameters`` from the one ObjectRef the driver put: each node reads
    it from its object store (zero-copy for NumPy arrays), it is never loaded per trial. Every
    ``checkpoint_every`` epochs, and after the last, the trainer's whole state goes into a Tune checkpoint; a
    retried or resumed trial continues from its last one, with its own config: the checkpoint may be another
    trial's (Population Based Training continues a trial from a better one's, with new hyperparameters).
    Each epoch reports the trial's energy so far (``energy_j``, ``energy_source``), a retry's included.
    ``decisions``: the epochs the search's scheduler decides at, computed once from the driver's config, where
    ``training.validation`` is ``at_decisions``. ``shared``: the run's subsets, for a shared strategy.
    ``selection_cost``: the run's measured selection cycle, which the cost guard decides from.
    """
    reporter = _TrialReport(time.time(), tune.get_context().get_trial_id())
    run_on_worker(TrainingJob(apply_params(config, params), data, model=model, decision_epochs=decisions,
                              shared_subsets=shared.subsets if shared else None, selection_cost=selection_cost,
                              hooks=reporter))


class _TrialReport(JobHooks):
    """A trial's hooks: it continues from its Tune checkpoint, and reports each epoch to Tune with its
    placement and energy, with a checkpoint every ``checkpoint_every`` epochs and after the last."""

    def __init__(self, started_at: float, trial_id: str) -> None:
        self.started_at = started_at
        self.trial_id = trial_id
        self.restarts = 0
        self.before = Energy()  # what this trial used up to the checkpoint it continues from, if any
        self.placement: dict[str, Any] = {}

    def restore(self, device: torch.device) -> Mapping[str, Any] | None:
        checkpoint = tune.get_checkpoint()
        state = None
        if checkpoint is not None:
            with checkpoint.as_directory() as folder:
                saved = torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True, map_location=device)
            state = saved["trainer"]
            # Continuing from another trial's checkpoint (a PBT exploit) is no restart of this trial.
            own = saved.get("trial_id", self.trial_id) == self.trial_id
            self.restarts = saved["restarts"] + 1 if own else 0
            self.before = Energy.from_columns(saved.get("energy", {})) if own else Energy()
        self.placement = {**where_am_i(), "restarts": self.restarts}
        self.placement.update(_marks(self.started_at, self.placement["node_id"]))
        return state

    def on_epoch(self, stats: EpochStats, job: RunningJob) -> None:
        trainer = job.trainer
        energy = self.before + job.energy()
        metrics = {**stats.as_dict(), **self.placement, **energy.as_columns(), "reported_at": time.time(),
                   "selection_cost_share": trainer.selection.forecast.share if trainer.selection.forecast else 0.0}
        every = trainer.config.fault_tolerance.checkpoint_every
        # The last epoch is checkpointed too: a finished trial's model can be tested (the full-data baseline).
        if (stats.epoch % every and stats.epoch < trainer.epochs) or stats.diverged:
            tune.report(metrics)
            return
        with tempfile.TemporaryDirectory() as folder:
            saved = {"trainer": trainer.state_dict(), "restarts": self.restarts, "trial_id": self.trial_id,
                     "energy": energy.as_columns()}
            torch.save(saved, Path(folder) / CHECKPOINT_FILE)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def _marks(started_at: float, node_id: str) -> dict[str, Any]:
    """This trial's wall-clock marks for the search's slot-use timeline (``results/slot_use.py``)."""
    return {
        "worker": f"{node_id[:8]}:{os.getpid()}",
        "worker_started_at": _PROCESS_STARTED_AT,
        "worker_imported_at": _IMPORTED_AT,
        "trial_started_at": started_at,
        "trainer_ready_at": time.time(),
    }
