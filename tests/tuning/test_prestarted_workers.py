"""Tune's trial actors run on the worker processes Ray prestarted, instead of starting a process each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from cords_tune.tuning.prestarted_workers import trials_on_prestarted_workers
from cords_tune.tuning.ray_compat import tune_actor_options


def _trial_actor_options() -> dict:
    """The options Tune gives a trial actor (its class cache, as a search uses it)."""

    class Trainable:
        pass

    return tune_actor_options(Trainable)


def test_while_a_search_runs_trial_actors_ask_for_no_runtime_environment_and_afterwards_tune_is_as_it_was():
    before = _trial_actor_options()
    assert before["runtime_env"]["env_vars"]  # what makes Ray start a new process for every trial actor
    with trials_on_prestarted_workers():
        assert not _trial_actor_options()["runtime_env"].get("env_vars")  # none: a prestarted worker fits
    assert _trial_actor_options() == before


RUN = textwrap.dedent("""
    import json, sys, time
    from cords_tune.config import load_config
    from cords_tune.runs import run_experiment

    marks = []
    result = run_experiment(load_config(sys.argv[1]), output_dir=sys.argv[2],
                            on_notice=lambda line: marks.append(time.time()))
    print(json.dumps({"ray_ready_at": marks[0], "run_dir": str(result.run_dir)}))
""")


@pytest.mark.slow
def test_a_run_that_starts_its_own_ray_trains_every_trial_on_a_worker_ray_prestarted(
        tmp_path, tiny_experiment):
    """Every trial of a 2-CPU run ran in a worker process that existed before the driver announced its Ray:
    one Ray prestarted, not one started for the trial."""
    tiny_experiment["search"].update(num_trials=4, max_concurrent_trials=2)
    tiny_experiment["final"] = {"enabled": False}
    config = tmp_path / "experiment.yaml"
    config.write_text(yaml.safe_dump(tiny_experiment))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, "-c", RUN, str(config), str(tmp_path / "runs")], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    first_reports = [json.loads(file.read_text().splitlines()[0])
                     for file in Path(run["run_dir"]).glob("tune/train_trial_*/result.json")]
    assert len(first_reports) == 4
    assert all(report["worker_started_at"] < run["ray_ready_at"] for report in first_reports)
    assert len({report["worker"] for report in first_reports}) <= 2  # Tune reuses them, one per slot
