"""A user's plugin module, written into a test's folder: it registers a dataset and a model under names of
its own and notes every import (process id and file) in ``imports.log`` next to it."""

from __future__ import annotations

from pathlib import Path

PLUGIN_SOURCE = '''
import os

import numpy as np
import torch
from torch import nn

from cords_tune.datasets import DATASETS
from cords_tune.datasets.bundle import TrainTest
from cords_tune.models import MODELS
from cords_tune.models.base import Classifier

with open({log!r}, "a") as log:
    log.write(f"{{os.getpid()}} {{__file__}}\\n")


@DATASETS.register("{prefix}_blobs")
def blobs(*, data_dir, seed, num_samples: int = 400):
    """Two Gaussian blobs in 6 dimensions, from the plugin."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, num_samples)
    x = (rng.normal(size=(num_samples, 6)) + 1.5 * y[:, None]).astype(np.float32)
    cut = num_samples * 4 // 5
    return TrainTest(x[:cut], y[:cut].astype(np.int64), x[cut:], y[cut:].astype(np.int64), num_classes=2)


class TwoLayer(Classifier):
    def __init__(self, width, num_classes, hidden):
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(width, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, num_classes)

    def embed(self, x):
        return self.features(x)


@MODELS.register("{prefix}_net")
def two_layer(*, input_shape, num_classes, hidden: int = 16):
    """A two-layer network, from the plugin."""
    return TwoLayer(int(np.prod(input_shape)), num_classes, hidden)
'''


def write_plugin(folder: Path, prefix: str, *, module: str | None = None) -> Path:
    """``folder/<module or prefix>_plugin.py`` registering dataset ``<prefix>_blobs`` and model ``<prefix>_net``."""
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{module or prefix + '_plugin'}.py"
    file.write_text(PLUGIN_SOURCE.format(prefix=prefix, log=str(folder / "imports.log")))
    return file


def plugin_experiment(prefix: str, plugin: str, tmp_path: Path) -> dict:
    """A tiny experiment on the plugin's dataset and model."""
    return {
        "name": f"{prefix}-plugin",
        "plugins": [plugin],
        "dataset": {"name": f"{prefix}_blobs", "data_dir": str(tmp_path / "data")},
        "model": {"name": f"{prefix}_net"},
        "training": {"epochs": 2, "batch_size": 32, "optimizer": "adam", "lr": 0.01, "device": "cpu"},
        "selection": {"strategy": "random", "fraction": 0.5, "every": 1},
        "search": {"num_trials": 2, "space": {"model.params.hidden": {"choice": [8, 16]}},
                   "asha": {"enabled": False}},
        "resources": {"cpus_per_trial": 1},
        "final": {"top_k": 1},
        "output_dir": str(tmp_path / "results"),
    }
