"""Retrain the best configuration on the full training data, as a Ray task with a trial's resources,
then evaluate it once on the test split."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import ray

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.training import Trainer
from cords_tune.tuning.trainable import on_this_worker

__all__ = ["FinalResult", "retrain_best", "retrain_on_cluster"]


@dataclass(frozen=True)
class FinalResult:
    test_accuracy: float
    test_loss: float
    val_accuracy: float
    epochs: int
    wall_s: float
    train_s: float
    node: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retrain_best(config: ExperimentConfig, data: DataBundle) -> FinalResult:
    """Train ``config`` on all training data for the final number of epochs; test once."""
    start = time.perf_counter()
    config = on_this_worker(config)
    trainer = Trainer(config, data, epochs=config.final_epochs, full_data=True)
    history = trainer.fit()
    test_loss, test_accuracy = trainer.evaluate_test()
    return FinalResult(
        test_accuracy=test_accuracy,
        test_loss=test_loss,
        val_accuracy=history[-1].val_accuracy,
        epochs=len(history),
        wall_s=time.perf_counter() - start,
        train_s=sum(s.train_s for s in history),
        node=ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local",
    )


def retrain_on_cluster(config: ExperimentConfig, data_ref: ray.ObjectRef) -> FinalResult:
    """Run ``retrain_best`` as a Ray task with the trial resources of ``config`` and wait for it."""
    task = ray.remote(
        num_cpus=config.resources.cpus_per_trial, num_gpus=config.resources.gpus_per_trial, max_retries=1
    )(retrain_best)
    return ray.get(task.remote(config, data_ref))
