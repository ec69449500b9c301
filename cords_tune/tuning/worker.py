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

from cords_tune.config import ExperimentConfig
from cords_tune.training.job import JobOutcome, TrainingJob, run_job
from cords_tune.tuning.data_parallel import submit_data_parallel
from cords_tune.tuning.placement import energy_meter, on_this_worker, placed, set_threads

__all__ = ["run_on_worker", "submit", "run_on_cluster", "as_trial_task", "on_this_worker", "set_threads",
           "where_am_i", "energy_meter"]


def run_on_worker(job: TrainingJob) -> JobOutcome:
    """Run ``job`` here: its config placed on this worker (``on_this_worker``), its data and shared subsets
    read from the object store where they are ObjectRefs, its energy metered; the outcome's time counts from
    here."""
    began_at, started = time.time(), time.perf_counter()
    job = placed(job)
    outcome = run_job(job, meter=energy_meter(job.config))
    node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"
    return replace(outcome, wall_s=time.perf_counter() - started, node=node, began_at=began_at)


def submit(job: TrainingJob) -> ray.ObjectRef:
    """``run_on_worker(job)`` as a Ray task with the trial resources of the job's config; its outcome's ref.
    ``job.data`` (and ``job.shared_subsets``) are best ObjectRefs: put once, read from each node's object
    store. A job of several ``workers`` trains data-parallel (``tuning.data_parallel``), its outcome alike."""
    if job.workers > 1:
        return submit_data_parallel(job)
    return as_trial_task(run_on_worker, job.config).remote(job)


def run_on_cluster(job: TrainingJob) -> JobOutcome:
    """``submit`` and wait for the outcome; interrupted, the job is cancelled (its workers go away)."""
    ref = submit(job)
    try:
        return ray.get(ref)
    except BaseException:
        ray.cancel(ref, force=True)
        raise


def as_trial_task(function: Any, config: ExperimentConfig) -> Any:
    """``function`` as a Ray task that asks for a trial's resources (retried once if its worker dies)."""
    return ray.remote(
        num_cpus=config.resources.cpus_per_trial, num_gpus=config.resources.gpus_per_trial, max_retries=1
    )(function)


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
