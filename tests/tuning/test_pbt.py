"""The project's trainable in a user's own Tuner with Population Based Training: a trial that continues from
another trial's checkpoint trains with the hyperparameters PBT gave it, and the clone is not a restart."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import ray
from ray import tune
from ray.tune.schedulers import PopulationBasedTraining

from cords_tune.config import parse_config
from cords_tune.preflight import load_and_check
from cords_tune.tuning.trainable import train_trial

pytestmark = pytest.mark.slow

EPOCHS = 5
START_LRS = [5.0e-4, 5.0e-2]
# Neither starting lr: PBT resamples from this list, so a trial's first exploit always changes its lr to one
# the checkpoint it continues from was not trained with.
MUTATED_LRS = [1.0e-2, 2.0e-2]


class _Results(tune.Callback):
    """Every result the driver receives, in order (a restarted trial's result.json can lose lines)."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.results.append(result)


def _first_reports_together(folder: Path, trials: int):
    """``train_trial``, where no trial reports before every trial has a first result to report. PBT compares
    trials by their latest results, and building the trainer can take seconds longer in one worker than in
    another: the first trial would train all its epochs before the other reports any."""

    def trainable(params: dict[str, Any], **kwargs: Any) -> None:
        trial, report = tune.get_context().get_trial_id(), tune.report

        def report_first_together(metrics: dict[str, Any], **options: Any) -> None:
            (folder / trial).touch()
            deadline = time.monotonic() + 60
            while len(list(folder.iterdir())) < trials and time.monotonic() < deadline:
                time.sleep(0.01)
            report(metrics, **options)

        with mock.patch.object(tune, "report", report_first_together):
            train_trial(params, **kwargs)

    return trainable


def _cosine(base_lr: float, epochs_done: int) -> float:
    """The lr of ``CosineAnnealingLR(T_max=EPOCHS)`` from ``base_lr`` after ``epochs_done`` epochs."""
    return base_lr * (1 + math.cos(math.pi * epochs_done / EPOCHS)) / 2


def test_a_trial_continued_by_pbt_trains_with_its_new_lr_and_is_not_restarted(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["training"].update(epochs=EPOCHS, schedule="cosine")
    tiny_experiment["search"]["space"] = {}
    tiny_experiment["fault_tolerance"] = {"checkpoint_every": 1}
    config = parse_config(tiny_experiment, source="test")
    data = load_and_check(config)
    (tmp_path / "started").mkdir()
    results = _Results()

    tuner = tune.Tuner(
        tune.with_parameters(
            _first_reports_together(tmp_path / "started", len(START_LRS)), config=config, data=ray.put(data)
        ),
        param_space={"training.lr": tune.grid_search(START_LRS)},
        tune_config=tune.TuneConfig(
            scheduler=PopulationBasedTraining(
                time_attr="training_iteration",
                perturbation_interval=1,
                hyperparam_mutations={"training.lr": MUTATED_LRS},
            ),
            metric="val_loss",
            mode="min",
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(name="pbt", storage_path=str(tmp_path / "tune"), callbacks=[results], verbose=0),
    )
    assert not tuner.fit().errors

    previous: dict[str, dict[str, Any]] = {}
    exploited = []
    for result in results.results:
        lr = result["config"]["training.lr"]
        assert result["lr"] == pytest.approx(_cosine(lr, result["epoch"] - 1), rel=1e-9), result
        before = previous.get(result["trial_id"])
        if before is not None and before["config"]["training.lr"] != lr:
            exploited.append(result)  # the first epoch of a trial continued from another trial's checkpoint
        previous[result["trial_id"]] = result
    assert exploited, "PBT never continued a trial from another trial's checkpoint"
    assert all(result["restarts"] == 0 for result in exploited), "a clone is not a restart"
