"""A job placed on the Ray worker that runs it: its config as this worker runs it, its ObjectRefs read from the
object store, its threads set and its energy metered. Shared by the one-worker path (``tuning.worker``) and each
rank of a data-parallel one (``tuning.data_parallel``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import ray
import torch

from cords_tune.config import ExperimentConfig
from cords_tune.energy import EnergyMeter
from cords_tune.plugins import import_plugins
from cords_tune.training.job import TrainingJob

__all__ = ["placed", "resolved", "on_this_worker", "set_threads", "energy_meter"]


def placed(job: TrainingJob, config: ExperimentConfig | None = None) -> TrainingJob:
    """``job`` as this worker runs it: ``config`` (default: ``on_this_worker(job.config)``), its data, shared
    subsets and start state or weights read from the object store where they are ObjectRefs."""
    return replace(job, config=config or on_this_worker(job.config), data=resolved(job.data),
                   shared_subsets=resolved(job.shared_subsets), start_state=resolved(job.start_state),
                   start_weights=resolved(job.start_weights))


def resolved(value: Any) -> Any:
    """``value``, read from the object store where it is an ObjectRef (zero-copy for NumPy arrays)."""
    return ray.get(value) if isinstance(value, ray.ObjectRef) else value


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


def energy_meter(config: ExperimentConfig) -> EnergyMeter:
    """A meter of the energy this worker's trial or task uses: the CPUs and GPUs it asked Ray for, the GPUs'
    counters found by the ids Ray gave it."""
    resources = config.resources
    gpu_ids = ray.get_gpu_ids() if resources.gpus_per_trial and ray.is_initialized() else []
    return EnergyMeter.start(config.energy, cpus=resources.cpus_per_trial, gpus=resources.gpus_per_trial,
                             gpu_ids=gpu_ids)
