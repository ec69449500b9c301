"""A finalist's start weights from its subset trial's last Tune checkpoint: from the search's results, from the
run directory on resume, and None (never a traceback) where the checkpoint is missing or unreadable."""

from __future__ import annotations

import copy
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import TINY_EXPERIMENT
from cords_tune.config import apply_params, parse_config
from cords_tune.preflight import load_and_check
from cords_tune.training.job import TrainingJob, run_job
from cords_tune.tuning.search import SearchSpec, run_search
from cords_tune.tuning.trainable import CHECKPOINT_FILE
from cords_tune.tuning.warm_start import TUNE_EXPERIMENT, finalist_start_weights, trial_checkpoint_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searched(local_ray, tmp_path_factory):
    """A real tiny search (checkpoints every epoch), laid out as a run keeps it: ``<run_dir>/tune``."""
    import ray

    folder = tmp_path_factory.mktemp("warm-start")
    experiment = copy.deepcopy(TINY_EXPERIMENT)
    experiment["dataset"]["data_dir"] = str(folder / "data")
    experiment["fault_tolerance"] = {"checkpoint_every": 1}
    config = parse_config(experiment)
    data = load_and_check(config)
    run_dir = folder / "run"
    run_dir.mkdir()
    spec = SearchSpec(config, data, ray.put(data), None, str(run_dir), TUNE_EXPERIMENT, folder=run_dir,
                      display=run_dir.name, phase="tuning", run_dir=run_dir)
    return SimpleNamespace(config=config, data=data, run_dir=run_dir, outcome=run_search(spec))


def val_accuracy_from(weights, config, data) -> float:
    job = TrainingJob(config, data, train=False, decision_epochs=(), evaluate=("val",), start_weights=weights)
    return run_job(job).scores["val"].accuracy


def test_the_best_trials_checkpoint_gives_the_model_it_validated(searched):
    best = searched.outcome.best
    weights = finalist_start_weights(searched.outcome, best, searched.run_dir)
    assert weights is not None and all(tensor.device.type == "cpu" for tensor in weights.values())
    config = apply_params(searched.config, best.params)
    assert val_accuracy_from(weights, config, searched.data) == pytest.approx(best.last_val_accuracy, abs=1e-9)
    untrained = val_accuracy_from(None, config, searched.data)
    assert untrained != pytest.approx(best.last_val_accuracy, abs=1e-9)  # the check above could fail


def test_a_search_read_back_from_the_run_directory_finds_the_same_weights_on_disk(searched):
    read_back = replace(searched.outcome, grid=None)
    for trial in searched.outcome.ranked:
        from_grid = finalist_start_weights(searched.outcome, trial, searched.run_dir)
        from_disk = finalist_start_weights(read_back, trial, searched.run_dir)
        assert from_disk is not None and from_disk.keys() == from_grid.keys()
        assert all((from_disk[name] == from_grid[name]).all() for name in from_grid)
    other_place = searched.run_dir.parent / "elsewhere"
    shutil.copytree(searched.run_dir / TUNE_EXPERIMENT, other_place / "my-run")
    moved = finalist_start_weights(read_back, searched.outcome.best, searched.run_dir, other_place / "my-run")
    assert moved is not None and moved.keys() == from_grid.keys()


def test_a_missing_or_corrupt_checkpoint_gives_none_and_says_why(searched, tmp_path, caplog):
    best = searched.outcome.best
    copied = tmp_path / "run"
    shutil.copytree(searched.run_dir / TUNE_EXPERIMENT, copied / TUNE_EXPERIMENT)
    read_back = replace(searched.outcome, grid=None)
    caplog.set_level(logging.WARNING, logger="cords_tune.tuning.warm_start")

    assert finalist_start_weights(read_back, replace(best, trial_id="nosuchid"), copied) is None
    assert "no checkpoint of trial nosuchid" in caplog.text

    last = trial_checkpoint_dir(copied / TUNE_EXPERIMENT, best.trial_id)
    (last / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    assert finalist_start_weights(read_back, best, copied) is None
    assert "cannot be read" in caplog.text
    from ray import tune

    on_grid = replace(searched.outcome, grid=[SimpleNamespace(checkpoint=tune.Checkpoint.from_directory(last))])
    assert finalist_start_weights(on_grid, replace(best, index=0), copied) is None
    no_checkpoint = replace(searched.outcome, grid=[SimpleNamespace(checkpoint=None)])
    assert finalist_start_weights(no_checkpoint, replace(best, index=0), copied) is None

    for folder in (copied / TUNE_EXPERIMENT).iterdir():
        if best.trial_id in folder.name:
            for checkpoint in folder.glob("checkpoint_*"):
                shutil.rmtree(checkpoint)
    assert finalist_start_weights(read_back, best, copied) is None
    assert finalist_start_weights(read_back, best, tmp_path / "nowhere") is None
    assert finalist_start_weights(read_back, best, copied, "s3://bucket/run") is None
