"""The final model and its test accuracy, as a Ray task with a trial's resources: the best configuration
retrained on the full training data, or a finished trial's model tested as it stands (the full-data
baseline's). The task returns the model's weights with its result; the driver saves them with ``keep_model``."""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import replace
from typing import Any
from collections.abc import Callable

import ray
import torch

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.final_model import MODEL_FILE, FinalModel
from cords_tune.models.given import GivenModel
from cords_tune.results.final import FinalResult
from cords_tune.training import EpochStats, build_trainer
from cords_tune.tuning.trainable import energy_meter, on_this_worker

__all__ = [
    "retrain_best",
    "retrain_on_cluster",
    "evaluate_trained",
    "evaluate_checkpoint_on_cluster",
    "as_trial_task",
    "keep_model",
]


def keep_model(final: FinalResult, folder: Path) -> FinalResult:
    """Save the model a final task returned as ``folder/model.pt`` (atomically); the result without the
    weights, naming the file relative to ``folder``."""
    if final.model is None:
        return final
    final.model.save(Path(folder) / MODEL_FILE)
    return replace(final, model=None, model_path=MODEL_FILE)


def retrain_best(
    config: ExperimentConfig, data: DataBundle, model: GivenModel | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> FinalResult:
    """Train ``config`` on all training data for the final number of epochs (``on_epoch`` sees each); test
    once. The result carries the trained model (CPU weights)."""
    start = time.perf_counter()
    config = on_this_worker(config)
    meter = energy_meter(config)
    trainer = build_trainer(config, data, epochs=config.final_epochs, full_data=True, model=model, decision_epochs=())
    history = trainer.fit(on_epoch)
    test = trainer.evaluate_test()
    energy = meter.read()
    return FinalResult(
        test_accuracy=test.accuracy,
        test_loss=test.loss,
        val_accuracy=history[-1].val_accuracy,
        val_loss=history[-1].val_loss,
        epochs=len(history),
        wall_s=time.perf_counter() - start,
        train_s=sum(s.train_s for s in history),
        node=ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local",
        energy=energy,
        scores={**history[-1].val_scores, **test.keyed("test")},
        model=FinalModel.from_training(
            trainer.model, config, data, epochs=len(history), test_accuracy=test.accuracy, retrained=True
        ),
    )


def retrain_on_cluster(config: ExperimentConfig, data_ref: ray.ObjectRef, model: GivenModel | None = None) -> FinalResult:
    """Run ``retrain_best`` as a Ray task with the trial resources of ``config`` and wait for it."""
    return ray.get(as_trial_task(retrain_best, config).remote(config, data_ref, model))


def evaluate_trained(
    config: ExperimentConfig, data: DataBundle, checkpoint: Any, model: GivenModel | None = None
) -> FinalResult:
    """Test the model a trial finished with (its last checkpoint), as ``retrain_best`` tests its model."""
    from cords_tune.tuning.trainable import CHECKPOINT_FILE

    start = time.perf_counter()
    on_worker = on_this_worker(config)
    meter = energy_meter(on_worker)
    trainer = build_trainer(on_worker, data, model=model, decision_epochs=())
    with checkpoint.as_directory() as folder:
        state = torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True, map_location=trainer.device)
    trainer.load_state_dict(state["trainer"])
    test = trainer.evaluate_test()
    val = trainer.evaluate(trainer.val)
    energy = meter.read()
    return FinalResult(
        test_accuracy=test.accuracy,
        test_loss=test.loss,
        val_accuracy=val.accuracy,
        val_loss=val.loss,
        epochs=trainer.epoch,
        wall_s=time.perf_counter() - start,
        train_s=0.0,
        node=ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local",
        retrained=False,
        energy=energy,
        scores={**val.keyed("val"), **test.keyed("test")},
        model=FinalModel.from_training(
            trainer.model, config, data, epochs=trainer.epoch, test_accuracy=test.accuracy, retrained=False
        ),
    )


def evaluate_checkpoint_on_cluster(
    config: ExperimentConfig, data_ref: ray.ObjectRef, checkpoint: Any, model: GivenModel | None = None
) -> FinalResult:
    """Run ``evaluate_trained`` as a Ray task with the trial resources of ``config`` and wait for it."""
    return ray.get(as_trial_task(evaluate_trained, config).remote(config, data_ref, checkpoint, model))


def as_trial_task(function: Any, config: ExperimentConfig) -> Any:
    """``function`` as a Ray task that asks for a trial's resources (retried once if its worker dies)."""
    return ray.remote(
        num_cpus=config.resources.cpus_per_trial, num_gpus=config.resources.gpus_per_trial, max_retries=1
    )(function)
