"""The final model and its test accuracy, as a training job run as a Ray task with a trial's resources: the
best configuration retrained on the full training data, or a finished trial's model tested as it stands (the
full-data baseline's). The task returns the model's weights with its result; the driver saves them with
``keep_model``."""

from __future__ import annotations

from pathlib import Path
from dataclasses import replace
from typing import Any
from collections.abc import Mapping

import ray
import torch

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.final_model import MODEL_FILE
from cords_tune.models.given import GivenModel
from cords_tune.results.final import FinalResult
from cords_tune.training.job import JobHooks, JobOutcome, TrainingJob
from cords_tune.tuning.worker import run_on_cluster, run_on_worker

__all__ = [
    "retrain_job",
    "evaluate_job",
    "final_result",
    "retrain_best",
    "retrain_on_cluster",
    "evaluate_checkpoint_on_cluster",
    "keep_model",
]


def keep_model(final: FinalResult, folder: Path) -> FinalResult:
    """Save the model a final task returned as ``folder/model.pt`` (atomically); the result without the
    weights, naming the file relative to ``folder``."""
    if final.model is None:
        return final
    final.model.save(Path(folder) / MODEL_FILE)
    return replace(final, model=None, model_path=MODEL_FILE)


def retrain_job(
    config: ExperimentConfig, data: Any, model: GivenModel | None = None, hooks: JobHooks | None = None
) -> TrainingJob:
    """The job of training ``config`` on all training data for the final number of epochs, tested once; its
    outcome carries the trained model (CPU weights)."""
    return TrainingJob(config, data, model=model, epochs=config.final_epochs, full_data=True, decision_epochs=(),
                       evaluate=("test",), keep_model=True, hooks=hooks or JobHooks())


def evaluate_job(config: ExperimentConfig, data: Any, checkpoint: Any, model: GivenModel | None = None) -> TrainingJob:
    """The job of testing the model a trial finished with (its last Tune checkpoint) as it stands."""
    return TrainingJob(config, data, model=model, decision_epochs=(), train=False, evaluate=("test", "val"),
                       keep_model=True, hooks=_FromCheckpoint(checkpoint))


def final_result(outcome: JobOutcome) -> FinalResult:
    """A retrain's or evaluation's outcome as summary.json's ``final``: its validation scores those of its last
    epoch where it was not evaluated again."""
    test = outcome.scores["test"]
    val = outcome.scores.get("val")
    last = outcome.last
    val_loss, val_accuracy, val_scores = (
        (val.loss, val.accuracy, val.keyed("val")) if val is not None
        else (last.val_loss, last.val_accuracy, last.val_scores)
    )
    return FinalResult(
        test_accuracy=test.accuracy,
        test_loss=test.loss,
        val_accuracy=val_accuracy,
        val_loss=val_loss,
        epochs=outcome.epochs,
        wall_s=outcome.wall_s,
        train_s=outcome.train_s,
        node=outcome.node,
        retrained=outcome.trained,
        energy=outcome.energy,
        scores={**val_scores, **test.keyed("test")},
        model=outcome.model,
    )


def retrain_best(config: ExperimentConfig, data: DataBundle, model: GivenModel | None = None) -> FinalResult:
    """``retrain_job`` run in this process."""
    return final_result(run_on_worker(retrain_job(config, data, model)))


def retrain_on_cluster(config: ExperimentConfig, data_ref: ray.ObjectRef, model: GivenModel | None = None) -> FinalResult:
    """``retrain_job`` run as a Ray task with the trial resources of ``config``, waited for."""
    return final_result(run_on_cluster(retrain_job(config, data_ref, model)))


def evaluate_checkpoint_on_cluster(
    config: ExperimentConfig, data_ref: ray.ObjectRef, checkpoint: Any, model: GivenModel | None = None
) -> FinalResult:
    """``evaluate_job`` run as a Ray task with the trial resources of ``config``, waited for."""
    return final_result(run_on_cluster(evaluate_job(config, data_ref, checkpoint, model)))


class _FromCheckpoint(JobHooks):
    """Restores a finished trial's trainer from its Tune checkpoint."""

    def __init__(self, checkpoint: Any) -> None:
        self.checkpoint = checkpoint

    def restore(self, device: torch.device) -> Mapping[str, Any]:
        from cords_tune.tuning.trainable import CHECKPOINT_FILE

        with self.checkpoint.as_directory() as folder:
            return torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True, map_location=device)["trainer"]
