"""Every registered strategy runs end to end through `cords-tune run` (a new strategy needs no test edit)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from cords_tune.cli import app
from cords_tune.config import parse_config
from cords_tune.preflight import load_and_check
from cords_tune.selection import STRATEGIES

pytestmark = pytest.mark.slow


def _run(experiment: dict, tmp_path: Path) -> tuple[Path, Path]:
    """``cords-tune run`` of ``experiment`` written to a file: the file and the run directory."""
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    result = CliRunner().invoke(app, ["run", str(file), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    return file, run_dir


@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_strategy_runs_through_the_cli(local_ray, tiny_experiment, tmp_path, strategy):
    tiny_experiment["selection"].update(strategy=strategy, fraction=0.2, every=1, proxy={"epochs": 1})
    tiny_experiment["search"]["num_trials"] = 1  # what each strategy costs here is Ray's worker starts
    tiny_experiment["training"]["epochs"] = 2
    tiny_experiment["final"] = {"top_k": 1}
    file, run_dir = _run(tiny_experiment, tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["strategy"] == strategy and summary["trials_errored"] == 0
    assert summary["final"]["test_accuracy"] > 0.5
    kind = STRATEGIES.get(strategy)
    if kind.shared:  # chosen once, before the trials, by the proxy task
        assert summary["shared_subset"]["size"] > 0 and summary["timings"]["shared_subset_s"] > 0
    elif kind.uses_subsets:
        assert summary["selection_s_total"] > 0 and summary["shared_subset"] is None


@pytest.mark.parametrize("strategy", ["infobatch"])
def test_dynamic_pruning_runs_with_its_baseline_and_fidelity(local_ray, tiny_experiment, tmp_path, strategy):
    """Shared strategies and the per-trial gradient strategies have their own baseline and fidelity tests."""
    tiny_experiment["selection"].update(strategy=strategy, every=1)
    tiny_experiment["training"]["epochs"] = 4
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
