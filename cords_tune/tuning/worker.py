"""The one worker function: a training job placed on this Ray worker, metered, run.

Every training of a run goes through ``run_on_worker``: a trial (inside Tune's function trainable), the
finalists and the final retrain, the full-data baseline's best model, ``cords-tune train`` and fidelity's
trainings (Ray tasks with a trial's resources, ``submit``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import ray
import torch

from cords_tune.config import ExperimentConfig
from cords_tune.energy import EnergyMeter
from cords_tune.plugins import import_plugins
from cords_tune.training.job import JobOutcome, TrainingJob, run_job

__all__ = ["run_on_worker", "submit", "run_on_cluster", "as_trial_task", "on_this_worker", "set_threads",
           "where_am_i", "energy_meter"]


def run_on_worker(job: TrainingJob) -> JobOutcome:
    """Run ``job`` here: its config placed on this worker (``on_this_worker``), its data and shared subsets
    read from the object store where they are ObjectRefs, its energy metered; the outcome's time counts from
    here."""
    began_at, started = time.time(), time.perf_counter()
    config = on_this_worker(job.config)
    placed = replace(job, config=config, data=_resolved(job.data), shared_subsets=_resolved(job.shared_subsets),
                     start_state=_resolved(job.start_state), start_weights=_resolved(job.start_weights))
    outcome = run_job(placed, meter=energy_meter(config))
    node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"
    return replace(outcome, wall_s=time.perf_counter() - started, node=node, began_at=began_at)


def _resolved(value: Any) -> Any:
    """``value``, read from the object store where it is an ObjectRef (zero-copy for NumPy arrays)."""
    return ray.get(value) if isinstance(value, ray.ObjectRef) else value


def submit(job: TrainingJob) -> ray.ObjectRef:
    """``run_on_worker(job)`` as a Ray task with the trial resources of the job's config; its outcome's ref.
    ``job.data`` (and ``job.shared_subsets``) are best ObjectRefs: put once, read from each node's object
    store."""
    return as_trial_task(run_on_worker, job.config).remote(job)


def run_on_cluster(job: TrainingJob) -> JobOutcome:
    """``submit`` and wait for the outcome."""
    return ray.get(submit(job))


def as_trial_task(function: Any, config: ExperimentConfig) -> Any:
    """``function`` as a Ray task that asks for a trial's resources (retried once if its worker dies)."""
    return ray.remote(
        num_cpus=config.resources.cpus_per_trial, num_gpus=config.resources.gpus_per_trial, max_retries=1
    )(function)


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


def energy_meter(config: ExperimentConfig) -> EnergyMeter:
    """A meter of the energy this worker's trial or task uses: the CPUs and GPUs it asked Ray for, the GPUs'
    counters found by the ids Ray gave it."""
    resources = config.resources
    gpu_ids = ray.get_gpu_ids() if resources.gpus_per_trial and ray.is_initialized() else []
    return EnergyMeter.start(config.energy, cpus=resources.cpus_per_trial, gpus=resources.gpus_per_trial,
                             gpu_ids=gpu_ids)
