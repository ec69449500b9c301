"""A full-data training over several workers: Ray Train's ``TorchTrainer`` starts ``job.workers`` ranks with a
trial's resources each (gloo on CPUs, NCCL on GPUs), each trains its share of every global batch
(``training.distributed``) and the gradients are averaged by ``DistributedDataParallel``.

``submit_data_parallel`` gives back an ObjectRef of a ``JobOutcome`` like a one-worker job's: the driver waits on
it, and cancels it, as on any other job. Behind it a Ray task of no CPU runs ``TorchTrainer.fit()``; the ranks
hand their outcomes to a mailbox actor of that task, so nothing passes through Ray Train's storage (it keeps only
its run's metadata there) and, the task cancelled, the trainer, its ranks and the mailbox go with it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import ray
import torch

from cords_tune.results.energy import Energy
from cords_tune.training.distributed import Shard, per_rank_config
from cords_tune.training.job import JobOutcome, TrainingJob, run_job
from cords_tune.tuning.placement import energy_meter, on_this_worker, placed

__all__ = ["submit_data_parallel", "check_data_parallel"]


def check_data_parallel(job: TrainingJob) -> None:
    """Raise a one-line ``ValueError`` where ``job`` cannot train data-parallel: a trial's subsets, or a global
    batch that its workers cannot split evenly."""
    per_rank_config(job.config, job.workers, full_data=job.full_data)


def submit_data_parallel(job: TrainingJob, *, storage: str | Path | None = None) -> ray.ObjectRef:
    """Train ``job`` (``job.workers`` > 1, the full data) with Ray Train; the ref of its ``JobOutcome``: rank 0's
    history, scores, model and state, the energy of every rank summed, the time from this task's start.

    Args:
        storage: the folder Ray Train keeps its run in (``RunConfig.storage_path``); default a temporary folder,
            removed once the training ends.
    """
    check_data_parallel(job)
    return _fit.remote(job, None if storage is None else str(storage))


@ray.remote(num_cpus=0, max_retries=0)
def _fit(job: TrainingJob, storage: str | None) -> JobOutcome:
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    started = time.perf_counter()
    resources = job.config.resources
    per_worker = {"CPU": resources.cpus_per_trial}
    if resources.gpus_per_trial:
        per_worker["GPU"] = resources.gpus_per_trial
    mailbox = _Mailbox.remote()
    folder = storage or tempfile.mkdtemp(prefix="cords-tune-data-parallel-")
    try:
        TorchTrainer(
            _train_rank,
            train_loop_config={"job": job, "mailbox": mailbox},
            scaling_config=ScalingConfig(num_workers=job.workers, use_gpu=bool(resources.gpus_per_trial),
                                         resources_per_worker=per_worker),
            run_config=RunConfig(name=f"data-parallel-{uuid.uuid4().hex[:8]}", storage_path=folder),
        ).fit()
    finally:
        if storage is None:
            shutil.rmtree(folder, ignore_errors=True)
    outcomes = ray.get(mailbox.outcomes.remote())
    return replace(outcomes[0], energy=Energy.total(o.energy for o in outcomes),
                   wall_s=time.perf_counter() - started)


def _train_rank(settings: dict[str, Any]) -> None:
    """One rank: the job placed on this worker, trained on its shard, its outcome handed to the mailbox."""
    import ray.train
    import ray.train.torch

    context = ray.train.get_context()
    shard = Shard(context.get_world_rank(), context.get_world_size())
    job: TrainingJob = settings["job"]
    config = on_this_worker(job.config)
    if config.resources.gpus_per_trial and config.training.device != "cpu":  # the GPU Ray Train gave this rank, as "cuda"
        torch.cuda.set_device(ray.train.torch.get_device())
        config = config.model_copy(update={"training": config.training.model_copy(update={"device": "cuda"})})
    job = placed(job, config)
    outcome = run_job(job, meter=energy_meter(config), shard=shard)
    outcome = replace(outcome, node=ray.get_runtime_context().get_node_id())
    ray.get(settings["mailbox"].put.remote(shard.rank, outcome))


@ray.remote(num_cpus=0)
class _Mailbox:
    """The ranks' outcomes, kept until the task that started the training reads them."""

    def __init__(self) -> None:
        self._outcomes: dict[int, JobOutcome] = {}

    def put(self, rank: int, outcome: JobOutcome) -> None:
        self._outcomes[rank] = outcome

    def outcomes(self) -> list[JobOutcome]:
        return [self._outcomes[rank] for rank in sorted(self._outcomes)]
