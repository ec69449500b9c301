"""The function trainable: one trial = the sampled config, trained epoch by epoch, reported once per epoch
(so ASHA's ``training_iteration`` counts epochs)."""

from __future__ import annotations

from typing import Any

import ray
import torch
from ray import tune

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DataBundle
from cords_tune.training import Trainer

__all__ = ["train_trial", "set_threads", "where_am_i"]


def set_threads(config: ExperimentConfig) -> None:
    """One intra-op thread per CPU Ray gave the trial, so concurrent trials do not oversubscribe cores."""
    torch.set_num_threads(max(1, int(config.resources.cpus_per_trial)))


def train_trial(params: dict[str, Any], *, config: ExperimentConfig, data: DataBundle) -> None:
    """Train ``config`` with the trial's sampled ``params`` on the shared dataset.

    ``data`` is resolved by ``tune.with_parameters`` from the one ObjectRef the driver put: each node reads
    it from its object store (zero-copy for NumPy arrays), it is never loaded per trial.
    """
    trial_config = apply_params(config, params)
    set_threads(trial_config)
    trainer = Trainer(trial_config, data)
    placement = where_am_i()
    trainer.fit(on_epoch=lambda stats: tune.report({**stats.as_dict(), **placement}))


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
