"""The function trainable: one trial = the sampled config, trained epoch by epoch, reported once per epoch
(so ASHA's ``training_iteration`` counts epochs)."""

from __future__ import annotations

from typing import Any

import torch
from ray import tune

from cords_tune.config import ExperimentConfig, apply_params
from cords_tune.datasets import DataBundle
from cords_tune.training import Trainer

__all__ = ["train_trial", "set_threads"]


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
    trainer.fit(on_epoch=lambda stats: tune.report(stats.as_dict()))
