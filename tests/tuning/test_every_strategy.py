"""Every registered strategy runs end to end through `cords-tune run` (a new strategy needs no test edit)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from cords_tune.cli import app
from cords_tune.selection import STRATEGIES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_strategy_runs_through_the_cli(local_ray, tiny_experiment, tmp_path, strategy):
    tiny_experiment["selection"].update(strategy=strategy, fraction=0.2, every=1)
    tiny_experiment["search"]["num_trials"] = 2
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(tiny_experiment))
    result = CliRunner().invoke(app, ["run", str(file), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["strategy"] == strategy and summary["trials_errored"] == 0
    assert summary["final"]["test_accuracy"] > 0.5
    if strategy != "full":
        assert summary["selection_s_total"] > 0
