"""The final model and its test accuracy, as a Ray task with a trial's resources: the best configuration
retrained on the full training data, or a finished trial's model tested as it stands (the full-data
baseline's). The task returns the model's weights with its result; the driver saves them with ``keep_model``."""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import dataclass, field, fields, replace
from typing import Any
from collections.abc import Callable, Mapping

import ray
import torch

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.energy import Energy
from cords_tune.records import known_fields
from cords_tune.final_model import MODEL_FILE, FinalModel
from cords_tune.metrics import METRICS
from cords_tune.models.given import GivenModel
from cords_tune.training import EpochStats, build_trainer
from cords_tune.tuning.trainable import energy_meter, on_this_worker

__all__ = [
    "FinalResult",
    "retrain_best",
    "retrain_on_cluster",
    "evaluate_trained",
    "evaluate_checkpoint_on_cluster",
    "as_trial_task",
    "keep_model",
]


@dataclass(frozen=True)
class FinalResult:
    """A final model's scores and cost: summary.json's ``final`` (``as_dict``, ``from_dict``)."""

    test_accuracy: float
    test_loss: float | None  # ``None``: read from a summary written before it was recorded (likewise below)
    val_accuracy: float | None
    val_loss: float | None
    epochs: int
    wall_s: float
    train_s: float
    node: str
    retrained: bool = True  # False: a finished trial's model, tested as it stands
    model_path: str | None = None  # where ``keep_model`` saved it, relative to the folder of its summary.json
    energy: Energy = Energy()  # what the task's CPUs and GPUs used, training and testing
    # The search metric's validation and test values where it is neither accuracy nor loss (``cords_tune.metrics``),
    # by key: {"val_roc_auc": 0.93, "test_roc_auc": 0.91}; entries of their own in ``as_dict``.
    scores: dict[str, float] = field(default_factory=dict)
    model: FinalModel | None = field(default=None, repr=False, compare=False)  # the weights, until saved

    def score(self, key: str) -> float | None:
        """The value of a metric by its key: ``search.metric`` (``val_roc_auc``: the validation score the
        search was ranked by, at the last epoch) or its test figure (``test_roc_auc``); ``None`` where not
        recorded."""
        return self.as_dict().get(key)

    def as_dict(self) -> dict[str, Any]:
        """The summary's ``final`` entry: every field but the weights, the energy as its columns, the scores as
        entries of their own."""
        kept = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("model", "energy", "scores")}
        return {**kept, **self.energy.as_columns(), **self.scores}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FinalResult:
        keys = {key for m in METRICS.values() if m.from_logits for key in (m.key, m.test_key)}
        scores = {key: value for key, value in data.items() if key in keys}
        return cls(**known_fields(cls, data, energy=Energy.from_columns(data), model=None, scores=scores))


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
