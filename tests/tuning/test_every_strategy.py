"""Every registered strategy trains its trials in a search (a new strategy needs no test edit), and dynamic
pruning runs through `cords-tune run` with its baseline and fidelity."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from ray import tune
from typer.testing import CliRunner

import cords_tune
from cords_tune.cli import app
from cords_tune.config import parse_config
from cords_tune.preflight import load_and_check
from cords_tune.selection import STRATEGIES, plan_of

pytestmark = pytest.mark.slow


def _run(experiment: dict, tmp_path: Path) -> tuple[Path, Path]:
    """``cords-tune run`` of ``experiment`` written to a file: the file and the run directory."""
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    result = CliRunner().invoke(app, ["run", str(file), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    return file, run_dir


def test_every_strategy_trains_its_trials_in_one_tuner(local_ray, tiny_experiment, tmp_path):
    """One Tune search whose trials are the registered strategies (the trainable ``cords-tune run`` uses, in a
    Tuner of its own: Ray starts its workers once for all of them). A shared strategy's trial trains its proxy
    itself here; runs through ``cords-tune run`` with a shared strategy are in test_shared_subset_run.py."""
    tiny_experiment["selection"].update(strategy="random", fraction=0.2, every=1, proxy={"epochs": 1})
    tiny_experiment["training"]["epochs"] = 3  # InfoBatch prunes in the epochs before its last eighth
    tiny_experiment["search"]["space"] = {}
    names = STRATEGIES.names()
    tuner = tune.Tuner(
        cords_tune.trainable(tiny_experiment),
        param_space={"selection.strategy": tune.grid_search(names)},
        tune_config=tune.TuneConfig(max_concurrent_trials=2, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "tune"), verbose=0),
    )
    grid = tuner.fit()

    assert grid.num_errors == 0, [r.error for r in grid if r.error]
    n_train = len(load_and_check(parse_config(tiny_experiment)).y_train)
    budget = round(0.2 * n_train)
    tried = set()
    for result in grid:
        strategy, history = result.config["selection.strategy"], result.metrics_dataframe
        tried.add(strategy)
        kind = plan_of(strategy)
        assert len(history) == 3 and not history["diverged"].any(), strategy
        assert history["val_accuracy"].iloc[-1] > 0.4, (strategy, history["val_accuracy"].tolist())  # chance 1/3
        sizes = history["subset_size"].tolist()
        if not kind.uses_subsets:
            assert sizes == [n_train] * 3, strategy
        elif kind.sized_by_budget:
            assert all(size <= budget + 3 for size in sizes), (strategy, sizes)  # +1 per class at most
        else:  # InfoBatch: pruned below the full data before its last epochs
            assert history["samples_seen"].iloc[-1] < 3 * n_train, strategy
        if kind.uses_subsets and not kind.shared:
            assert history["selection_s"].sum() > 0, strategy
    assert tried == set(names)


@pytest.mark.parametrize("strategy", ["infobatch"])
def test_dynamic_pruning_runs_with_its_baseline_and_fidelity(local_ray, tiny_experiment, tmp_path, strategy):
    """Shared strategies and the per-trial gradient strategies have their own baseline and fidelity tests."""
    tiny_experiment["selection"].update(strategy=strategy, every=1)
    tiny_experiment["training"]["epochs"] = 3  # InfoBatch prunes at the second (the first keeps the unseen)
    tiny_experiment["search"]["num_trials"] = 2
    tiny_experiment.update(baseline=True)
    file, run_dir = _run(tiny_experiment, tmp_path)
    comparison = json.loads((run_dir / "comparison.json").read_text())
    assert comparison["tuning_speedup"] > 0 and comparison["test_accuracy_subset"] > 0.5
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    n_train = len(load_and_check(parse_config(tiny_experiment)).y_train)
    assert any(t["samples_seen"] < t["epochs"] * n_train for t in trials), "InfoBatch pruned nothing"

    result = CliRunner().invoke(app, ["fidelity", str(file), "--configs", "2", "--output", str(tmp_path / "fid")])
    assert result.exit_code == 0, result.output
    (fidelity_dir,) = (tmp_path / "fid").iterdir()
    fidelity = json.loads((fidelity_dir / "fidelity.json").read_text())
    assert fidelity["strategy"] == strategy and fidelity["num_configs"] == 2
