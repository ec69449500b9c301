"""Shared fixtures: a tiny experiment on synthetic data, and one local Ray for the in-process tuning tests."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

TINY_EXPERIMENT: dict[str, Any] = {
    "name": "tiny",
    "seed": 0,
    "dataset": {"name": "synthetic", "params": {"num_samples": 600, "num_features": 8, "num_classes": 3}},
    "model": {"name": "mlp", "params": {"hidden": 32, "depth": 1}},
    "training": {"epochs": 3, "batch_size": 32, "optimizer": "adam", "lr": 0.01, "device": "cpu"},
    "selection": {"strategy": "random", "fraction": 0.3, "every": 1},
    "search": {
        "num_trials": 3,
        "space": {"training.lr": {"loguniform": [1.0e-3, 1.0e-1]}, "model.params.hidden": {"choice": [16, 32]}},
        "asha": {"grace_period": 1},
    },
    "resources": {"cpus_per_trial": 1},
}


class TensorSplit:
    """The smallest split the selection code reads: ``len(split)`` and ``split.batch(index)``."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def batch(self, index):
        return self.x[index], self.y[index]


def saved_model_accuracy(model_file: Path, config_file: Path) -> float:
    """Test accuracy of a saved model on the test split of its experiment, predicted from the raw inputs with
    one thread, as the Ray task that trained and tested it ran."""
    import torch

    import cords_tune
    from cords_tune.config import load_config
    from cords_tune.preflight import load_and_check

    data = load_and_check(load_config(config_file))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        labels = cords_tune.load_model(model_file).predict(data.x_test)
    finally:
        torch.set_num_threads(threads)
    return float((labels == data.y_test).sum()) / len(labels)


@pytest.fixture
def tiny_experiment(tmp_path) -> dict[str, Any]:
    """A raw experiment mapping that trains in a second; data cached under ``tmp_path``."""
    data = copy.deepcopy(TINY_EXPERIMENT)
    data["dataset"]["data_dir"] = str(tmp_path / "data")
    data["output_dir"] = str(tmp_path / "results")
    return data


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the session (starting Ray takes ~10 s); ``run_experiment`` joins it."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # One logical GPU: a trial can be given a "GPU" that CUDA cannot see, as on a misconfigured node.
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()
