"""Shared fixtures: a tiny experiment on synthetic data, one local Ray for the in-process tuning tests, and one
run with its baseline for the tests that read one.

The suite can run in two pytest-xdist workers (``pytest -n 2``; ``make test`` runs one process, see the Makefile).
Each worker is a process with Ray of its own, and each gets a Ray temp folder of its own: ``ray.init()`` without an
address joins the cluster last started under its temp folder, and a test that starts one (``ray start``,
``Cluster``) must not be joined by the other worker's runs. The compared run is made once, by the first worker that
needs it, and read by both.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _XDIST_WORKER:  # before anything starts Ray; subprocesses inherit it
    os.environ["RAY_TMPDIR"] = os.path.join(os.environ.get("RAY_TMPDIR", "/tmp"), f"cords-tune-tests-{_XDIST_WORKER}")
    os.makedirs(os.environ["RAY_TMPDIR"], exist_ok=True)


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
    ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    yield ray
    ray.shutdown()


ENERGY_WATTS = 12.0  # per CPU in the compared run; each trial and task holds one
ENERGY_GRID_GCO2_PER_KWH = 400.0


@dataclass(frozen=True)
class ComparedRun:
    config: Any  # ExperimentConfig
    run_dir: Path
    phases: list[str]  # the progress phases the run went through


@pytest.fixture(scope="session")
def compared_run(tmp_path_factory, request) -> ComparedRun:
    """One run with its baseline, shared by the modules that read one (comparison, energy, final models): it costs
    a minute, and what they check of it does not change it. GradMatch with a searched fraction, ASHA off (every
    trial completes, so the baseline tests its best trial from its last checkpoint), energy estimated at
    ``ENERGY_WATTS``. Under xdist the workers share it: the first makes it under a lock, the other waits and
    reads it."""
    from cords_tune.config import parse_config
    from cords_tune.runs import run_experiment

    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if _XDIST_WORKER else base) / "compared-run"  # the parent is shared by the workers
    folder.mkdir(exist_ok=True)
    experiment = copy.deepcopy(TINY_EXPERIMENT)
    experiment["dataset"]["data_dir"] = str(folder / "data")
    experiment.update(baseline=True, fault_tolerance={"checkpoint_every": 100},
                      energy={"cpu_watts_per_core": ENERGY_WATTS, "grid_gco2_per_kwh": ENERGY_GRID_GCO2_PER_KWH})
    experiment["selection"]["strategy"] = "gradmatch"
    experiment["search"]["space"]["selection.fraction"] = {"uniform": [0.2, 0.4]}
    experiment["search"]["asha"] = {"enabled": False}
    config = parse_config(experiment)
    made = folder / "made.json"  # the run's folder and phases, written once the run has finished
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            request.getfixturevalue("local_ray")
            phases: list[str] = []
            result = run_experiment(config, output_dir=folder / "out", on_progress=lambda p: phases.append(p.phase))
            made.write_text(json.dumps({"run_dir": str(result.run_dir), "phases": phases}))
    record = json.loads(made.read_text())
    return ComparedRun(config, Path(record["run_dir"]), record["phases"])


def pytest_collection_modifyitems(config, items):
    """Tests that start a Ray cluster of their own (``own_cluster``) run first: once a test has joined the session's
    in-process Ray (``local_ray``), it stays up until the session ends. The order is kept otherwise."""
    items.sort(key=lambda item: item.get_closest_marker("own_cluster") is None)


def printed_wide(show: Any, value: Any) -> str:
    """What ``show(value)`` (a function of ``cords_tune.cli.display``) prints, one line per row (a wide console)."""
    from cords_tune.cli.console import out

    width, out.width = out.width, 300
    try:
        with out.capture() as captured:
            show(value)
    finally:
        out.width = width
    return captured.get()


def printed_summary(summary: Any) -> str:
    """What ``print_summary`` shows of ``summary``, one line per row."""
    from cords_tune.cli.display import print_summary

    return printed_wide(print_summary, summary)
