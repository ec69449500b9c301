"""Runs on the user's own labels with real Ray: labels {3, 7, 11} in an .npz and text labels in a CSV come back
from the saved model, from ``cords-tune predict`` and in summary.json / report.md as the user gave them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import cords_tune
from conftest import TINY_EXPERIMENT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class LabelledRun:
    run_dir: Path
    test_file: Path  # the test split as the user holds it: a CSV, or an .npz with x_test
    x_test: object  # the test inputs as given (a DataFrame with the label column, or an array)
    y_test: np.ndarray  # the user's test labels
    classes: list


def _features(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return (rng.normal(size=(n, 5)) + 1.5 * y[:, None]).astype(np.float32), y


def _run(dataset: dict, folder: Path) -> Path:
    experiment = copy.deepcopy(TINY_EXPERIMENT)
    experiment.update(name=folder.name, dataset={**dataset, "data_dir": str(folder / "cache")},
                      final={"top_k": 1})
    experiment["training"]["epochs"] = 2
    experiment["search"].update(num_trials=2, asha={"enabled": False})
    return cords_tune.run(experiment, output_dir=folder / "out").run_dir


@pytest.fixture(scope="module")
def runs(local_ray, tmp_path_factory) -> dict[str, LabelledRun]:
    """One tiny run per kind of labels, shared by the tests of this module."""
    made = {}
    folder = tmp_path_factory.mktemp("npz-run")
    (x, y), (x_test, y_test) = _features(240, 0), _features(60, 1)
    labels = np.array([3, 7, 11])
    np.savez(folder / "data.npz", x_train=x, y_train=labels[y], x_test=x_test, y_test=labels[y_test])
    made["npz"] = LabelledRun(_run({"name": "npz", "params": {"path": str(folder / "data.npz")}}, folder),
                              folder / "data.npz", x_test, labels[y_test], [3, 7, 11])

    folder = tmp_path_factory.mktemp("csv-run")
    names = np.array(["class_0", "class_1", "class_2"])
    columns = [f"f{i}" for i in range(5)]
    pd.DataFrame(x, columns=columns).assign(kind=names[y]).to_csv(folder / "train.csv", index=False)
    test = pd.DataFrame(x_test, columns=columns).assign(kind=names[y_test])
    test[["kind", *reversed(columns)]].to_csv(folder / "test.csv", index=False)  # the user's own column order
    dataset = {"name": "csv", "params": {"path": str(folder / "train.csv"), "test_path": str(folder / "test.csv"),
                                         "label": "kind"}}
    made["csv"] = LabelledRun(_run(dataset, folder), folder / "test.csv", pd.read_csv(folder / "test.csv"),
                              names[y_test], names.tolist())
    return made


def _one_thread(function):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the Ray task that trained and tested the model ran
    try:
        return function()
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_the_saved_model_predicts_the_users_labels_with_the_runs_test_accuracy(runs, kind):
    run = runs[kind]
    summary = json.loads((run.run_dir / "summary.json").read_text())
    model = cords_tune.load_model(run.run_dir / "model.pt")
    predicted = _one_thread(lambda: model.predict(run.x_test))
    assert model.classes_.tolist() == run.classes and set(predicted.tolist()) <= set(run.classes)
    assert predicted.dtype == run.y_test.dtype
    assert float((predicted == run.y_test).mean()) == summary["final"]["test_accuracy"]

    assert summary["classes"] == run.classes
    report = (run.run_dir / "report.md").read_text()
    assert "Classes (3, the final model's labels): " + ", ".join(f"`{c}`" for c in run.classes) in report


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_the_predict_command_gives_the_same_labels(runs, kind, tmp_path):
    run = runs[kind]
    output = tmp_path / "predicted.parquet"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "cords_tune.cli", "predict", str(run.run_dir / "model.pt"),
                             str(run.test_file), "--output", str(output)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert str(output) in " ".join(result.stdout.split())
    predicted = pd.read_parquet(output)["prediction"].to_numpy()
    summary = json.loads((run.run_dir / "summary.json").read_text())
    assert float((predicted == run.y_test).mean()) == summary["final"]["test_accuracy"]
    assert predicted.tolist() == _one_thread(lambda: cords_tune.load_model(run.run_dir / "model.pt")
                                             .predict(run.x_test)).tolist()
