"""The function trainable: one trial = the sampled config, trained epoch by epoch, reported once per epoch
(so ASHA's ``training_iteration`` counts epochs)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DataBundle
from cords_tune.energy import EnergyMeter
from cords_tune.results.energy import Energy
from cords_tune.models.given import GivenModel
from cords_tune.plugins import import_plugins
from cords_tune.training.cost_guard import CycleCost
from cords_tune.training.proxy import SharedSubset
from cords_tune.training import EpochStats, build_trainer
from cords_tune.tuning.algorithms import decision_epochs
from cords_tune.results.slot_use import process_started_at

_IMPORTED_AT = time.time()  # when this worker had imported torch, Ray and the trainer: the start of its first trial
_PROCESS_STARTED_AT = process_started_at() or _IMPORTED_AT

__all__ = ["trial_trainable", "train_trial", "on_this_worker", "set_threads", "where_am_i", "energy_meter",
           "CHECKPOINT_FILE"]

CHECKPOINT_FILE = "trainer.pt"


def on_this_worker(config: ExperimentConfig) -> ExperimentConfig:
    """The config as this Ray worker must run it, its plugins imported: ``device: auto`` means the CPU when the
    trial was given no GPU (Ray leaves CUDA_VISIBLE_DEVICES alone then, and the GPUs belong to other trials)."""
    import_plugins(config.plugins)
    set_threads(config)
    if config.training.device == "auto" and config.resources.gpus_per_trial == 0:
        return config.model_copy(update={"training": config.training.model_copy(update={"device": "cpu"})})
    return config


def set_threads(config: ExperimentConfig) -> None:
    """One intra-op thread per CPU Ray gave the trial, so concurrent trials do not oversubscribe cores."""
    torch.set_num_threads(max(1, int(config.resources.cpus_per_trial)))


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
    started_at = time.time()
    trial_config = on_this_worker(apply_params(config, params))
    meter = energy_meter(trial_config)
    before = Energy()  # what this trial used up to the checkpoint it continues from, if any
    trainer = build_trainer(trial_config, data, model=model, decision_epochs=decisions,
                            shared_subsets=shared.subsets if shared else None, selection_cost=selection_cost)
    trial_id = tune.get_context().get_trial_id()
    restarts = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            state = torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True, map_location=trainer.device)
        trainer.load_state_dict(state["trainer"])
        # Continuing from another trial's checkpoint (a PBT exploit) is no restart of this trial.
        own = state.get("trial_id", trial_id) == trial_id
        restarts = state["restarts"] + 1 if own else 0
        before = Energy.from_columns(state.get("energy", {})) if own else Energy()
    placement = {**where_am_i(), "restarts": restarts}
    placement.update(_marks(started_at, placement["node_id"]))
    every = trial_config.fault_tolerance.checkpoint_every

    def report(stats: EpochStats) -> None:
        energy = before + meter.read()
        metrics = {**stats.as_dict(), **placement, **energy.as_columns(), "reported_at": time.time(),
                   "selection_cost_share": trainer.selection.forecast.share if trainer.selection.forecast else 0.0}
        # The last epoch is checkpointed too: a finished trial's model can be tested (the full-data baseline).
        if (stats.epoch % every and stats.epoch < trainer.epochs) or stats.diverged:
            tune.report(metrics)
            return
        with tempfile.TemporaryDirectory() as folder:
            saved = {"trainer": trainer.state_dict(), "restarts": restarts, "trial_id": trial_id,
                     "energy": energy.as_columns()}
            torch.save(saved, Path(folder) / CHECKPOINT_FILE)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    trainer.fit(on_epoch=report)


def where_am_i() -> dict[str, Any]:
    """The node and the resources Ray gave this process (reported with each epoch, kept per trial)."""
    context = ray.get_runtime_context()
    resources = context.get_assigned_resources()
    return {
        "node_id": context.get_node_id(),
        "gpu_ids": ",".join(str(g) for g in ray.get_gpu_ids()),
        "gpus_assigned": float(resources.get("GPU", 0.0)),
        "cpus_assigned": float(resources.get("CPU", 0.0)),
    }


def _marks(started_at: float, node_id: str) -> dict[str, Any]:
    """This trial's wall-clock marks for the search's slot-use timeline (``results/slot_use.py``)."""
    return {
        "worker": f"{node_id[:8]}:{os.getpid()}",
        "worker_started_at": _PROCESS_STARTED_AT,
        "worker_imported_at": _IMPORTED_AT,
        "trial_started_at": started_at,
        "trainer_ready_at": time.time(),
    }


def energy_meter(config: ExperimentConfig) -> EnergyMeter:
    """A meter of the energy this worker's trial or task uses: the CPUs and GPUs it asked Ray for, the GPUs'
    counters found by the ids Ray gave it."""
    resources = config.resources
    gpu_ids = ray.get_gpu_ids() if resources.gpus_per_trial and ray.is_initialized() else []
    return EnergyMeter.start(config.energy, cpus=resources.cpus_per_trial, gpus=resources.gpus_per_trial,
                             gpu_ids=gpu_ids)
