"""The Python API with real Ray: data and a network given as objects reach the trials and the finalists."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import cords_tune
from cords_tune.errors import RunFinishedError

pytestmark = pytest.mark.slow


class Plain(nn.Module):
    """A user's network: no Classifier, no embed; its last layer is an nn.Linear."""

    def __init__(self, input_shape, num_classes, hidden=16):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), hidden), nn.ReLU())
        self.last = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.last(self.body(x))


def _data() -> TensorDataset:
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    x = (rng.normal(size=(300, 6)) + 2.0 * y[:, None]).astype(np.float32)
    return TensorDataset(torch.tensor(x), torch.tensor(y))


@pytest.fixture(scope="module")
def python_run(local_ray, tmp_path_factory):
    """A run made from Python, on data and a network given as objects."""
    experiment = {
        "name": "api-run",
        "training": {"epochs": 2, "batch_size": 32, "optimizer": "adam", "lr": 0.01, "device": "cpu"},
        "selection": {"strategy": "gradmatch", "fraction": 0.3, "every": 1},  # gradients through the hook
        "search": {"num_trials": 2, "space": {"model.params.hidden": {"choice": [8, 16]}},
                   "asha": {"enabled": False}},
        "resources": {"cpus_per_trial": 1},
    }
    return cords_tune.run(experiment, data=_data(), model=Plain, output_dir=tmp_path_factory.mktemp("api-run"))


def test_a_run_on_data_and_a_network_given_from_python(python_run):
    result = python_run
    summary = result.summary
    assert summary.trials_errored == 0 and len(summary.finalists) == 2
    assert summary.final.test_accuracy > 0.6  # 3 classes: chance is 0.33
    model = cords_tune.load_model(result.run_dir / "model.pt", model=Plain)
    assert isinstance(model.module.network, Plain)
    with pytest.raises(RunFinishedError):
        cords_tune.resume(result.run_dir, data=_data(), model=Plain)


def test_the_best_config_of_a_run_from_python_says_how_to_train_it_from_python(python_run):
    best_config = python_run.run_dir / "best_config.yaml"
    header = [line for line in best_config.read_text().splitlines() if line.startswith("#")]
    assert not any("cords-tune train" in line for line in header), "the CLI has neither the data nor the model"
    assert f"cords_tune.train({str(best_config)!r}, data=<your data>, model=<your model factory>)" in header[1]


def test_cords_tune_train_trains_a_best_config_on_data_and_a_network_given_from_python(python_run, tmp_path):
    best_config = python_run.run_dir / "best_config.yaml"
    result = cords_tune.train(best_config, data=_data(), model=Plain, output_dir=tmp_path)
    summary = result.summary
    assert summary.status == "ok" and summary.final.epochs == 2
    assert summary.final.test_accuracy > 0.6
    hidden = python_run.summary.best_config["model.params.hidden"]
    assert summary.model_params == {"hidden": hidden}, "the tuned value, not the factory's default"
    model = cords_tune.load_model(result.model_path, model=Plain)
    assert isinstance(model.module.network, Plain) and model.module.network.last.in_features == hidden
