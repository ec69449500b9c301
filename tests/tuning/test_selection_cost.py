"""The cost guard's measurement in a tuning run: made once, where a trial trains, and kept in the run directory."""

from __future__ import annotations

import pytest

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.training.cost_guard import CycleCost
from cords_tune.tuning import selection_cost
from cords_tune.tuning.selection_cost import SELECTION_COST_FILE, CostTask


@pytest.fixture
def experiment(tiny_experiment):
    def make(**selection) -> object:
        return parse_config({**tiny_experiment, "training": {**tiny_experiment["training"], "epochs": 6},
                             "selection": {"strategy": "gradmatch", "fraction": 0.3, "every": 2, **selection}})

    return make


def test_a_run_directory_keeps_its_measured_costs(experiment, tmp_path, monkeypatch):
    """A resumed run decides from the costs its first session measured: it never measures again."""
    kept = CycleCost("gradmatch", selection_s=1.25, train_s=0.5, eval_s=0.1, device="cpu")
    kept.save(tmp_path / SELECTION_COST_FILE)
    monkeypatch.setattr(selection_cost, "as_trial_task", lambda *a: pytest.fail("measured again"))
    task = CostTask.start(experiment(), None, None, None, tmp_path)
    assert task.ref == kept
    task.settle()
    assert CostTask.start(experiment(strategy="random"), None, None, None, tmp_path) is None  # nothing to guard
    assert CostTask.start(experiment(max_cost_share=1.0), None, None, None, tmp_path) is None  # the guard is off


@pytest.mark.slow
@pytest.mark.parametrize("here", [True, False], ids=["by the driver", "by a Ray task"])
def test_the_costs_are_measured_once_and_kept(local_ray, experiment, tmp_path, monkeypatch, here):
    config = experiment()
    data = load_dataset("synthetic", data_dir=tmp_path, seed=0, params={"num_samples": 600, "num_features": 8})
    assert selection_cost.measures_here(config), "trials on the CPUs of this one-node Ray"
    monkeypatch.setattr(selection_cost, "measures_here", lambda config: here)
    task = CostTask.start(config, data, local_ray.put(data), None, tmp_path)
    cost = task.ref if here else local_ray.get(task.ref)  # what a trial waits for in its set-up
    assert cost.strategy == "gradmatch" and cost.selection_s > 0 and cost.train_s > 0 and cost.device == "cpu"
    task.settle()
    assert CycleCost.load(tmp_path / SELECTION_COST_FILE) == cost
    monkeypatch.setattr(selection_cost, "measure_cycle_cost", lambda *a: pytest.fail("measured again"))
    monkeypatch.setattr(selection_cost, "as_trial_task", lambda *a: pytest.fail("measured again"))
    assert CostTask.start(config, data, None, None, tmp_path).ref == cost
