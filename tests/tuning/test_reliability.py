"""Reliability with real processes: diverging trials, a killed trial worker, a killed driver then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from cords_tune.config import parse_config
from cords_tune.runs import run_experiment

pytestmark = pytest.mark.slow


def _slow_trials(experiment: dict, *, trials: int, epochs: int) -> dict:
    """Trials that last a few seconds each, checkpointing every epoch, ASHA off (every trial runs out)."""
    experiment["dataset"]["params"] = {"num_samples": 12000, "num_features": 32, "num_classes": 3}
    experiment["model"]["params"] = {"hidden": 256, "depth": 2}
    experiment["selection"] = {"strategy": "full"}
    experiment["training"].update(epochs=epochs, batch_size=32)
    experiment["search"].update(num_trials=trials, max_concurrent_trials=1, algorithm="random")
    experiment["search"]["space"] = {"training.lr": {"loguniform": [1.0e-3, 1.0e-2]}}  # keeps the model large
    experiment["search"]["asha"] = {"enabled": False}
    experiment["fault_tolerance"] = {"checkpoint_every": 1, "keep_checkpoints": 2, "max_failures": 2}
    experiment["final"] = {"enabled": False}
    return experiment


def _results(tune_dir: Path) -> dict[str, list[dict]]:
    """Each trial's reported results, read from its result.json."""
    out = {}
    for file in tune_dir.glob("*/result.json"):
        lines = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
        if lines:
            out[lines[0]["trial_id"]] = lines
    return out


def test_a_diverging_trial_ends_as_diverged_and_the_search_goes_on(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["training"].update(optimizer="sgd", momentum=0.9, epochs=4)
    tiny_experiment["search"].update(num_trials=4, algorithm="random")
    tiny_experiment["search"]["space"] = {"training.lr": {"choice": [0.05, 1.0e6]}}
    result = run_experiment(parse_config(tiny_experiment), output_dir=tmp_path)
    trials, summary = result.trials, result.summary
    diverged = [t for t in trials if t.status == "diverged"]
    assert diverged and all(t.params["training.lr"] == 1.0e6 for t in diverged)
    assert all(t.epochs >= 1 and 0.0 <= t.last_val_accuracy <= 1.0 for t in diverged), "metrics are kept"
    assert summary.trials_diverged == len(diverged) and summary.trials_errored == 0
    assert summary.best_config["training.lr"] == 0.05 and summary.final.test_accuracy > 0.5


def test_a_killed_trial_worker_is_retried_from_its_checkpoint(local_ray, tiny_experiment, tmp_path):
    config = parse_config(_slow_trials(tiny_experiment, trials=2, epochs=6))
    killed: list[int] = []

    def kill_first_worker_after_two_epochs() -> None:
        deadline = time.monotonic() + 240
        while not killed and time.monotonic() < deadline:
            for lines in _results_anywhere(tmp_path).values():
                if len(lines) >= 2 and not lines[-1].get("done"):
                    os.kill(lines[-1]["pid"], signal.SIGKILL)
                    killed.append(lines[-1]["pid"])
                    return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_first_worker_after_two_epochs, daemon=True)
    watcher.start()
    result = run_experiment(config, output_dir=tmp_path / "out")
    watcher.join()
    assert killed, "the worker was never caught mid-trial"
    summary = result.summary
    assert summary.trials_errored == 0 and summary.trials_retried >= 1
    assert all(t.status == "completed" and t.epochs == 6 for t in result.trials)
    retried = [t for t in result.trials if t.restarts]
    history = _results(result.run_dir / "tune")[retried[0].trial_id]
    assert sum(line["training_iteration"] == 1 for line in history) == 1, "continued, not restarted from scratch"


def _results_anywhere(root: Path) -> dict[str, list[dict]]:
    out = {}
    for tune_dir in root.glob("out/*/tune"):
        out.update(_results(tune_dir))
    return out


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_a_killed_driver_resumes_without_losing_or_rerunning_trials(tiny_experiment, tmp_path):
    experiment = _slow_trials(tiny_experiment, trials=4, epochs=6)
    experiment["final"] = {"enabled": True, "epochs": 2}
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    # Tune saves the experiment state every TUNE_GLOBAL_CHECKPOINT_S seconds (adaptive by default).
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "TUNE_GLOBAL_CHECKPOINT_S": "2"}
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, "-m", "cords_tune.cli"]
    log_file = tmp_path / "driver.log"
    with open(log_file, "w") as log:
        driver = subprocess.Popen(command + ["run", str(file), "--output", str(tmp_path / "out")],
                                  stdout=log, stderr=log, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while "2/4 trials done" not in log_file.read_text():  # the driver's own progress lines
            assert driver.poll() is None and time.monotonic() < deadline, log_file.read_text()[-2000:]
            time.sleep(0.1)
        time.sleep(1.0)  # the third trial is under way
        assert driver.poll() is None, "the run ended before it could be interrupted"
        ray_processes = _children(driver.pid)  # the GCS and the raylet, in sessions of their own
        assert ray_processes, "the driver started its Ray"
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in ray_processes):  # the kernel ends them with the driver
        assert time.monotonic() < deadline, f"Ray outlived its driver: {_children(1) & ray_processes}"
        time.sleep(0.2)
    (run_dir,) = (tmp_path / "out").iterdir()
    assert not (run_dir / "summary.json").exists()

    resumed = subprocess.run(command + ["resume", str(run_dir)], capture_output=True, text=True, env=env, timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["resumed"] is True
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len(trials) == 4 and all(t["status"] == "completed" and t["epochs"] == 6 for t in trials), "none lost"
    history = _results(run_dir / "tune")
    assert len(history) == 4
    for trial_id, lines in history.items():
        assert sum(line["training_iteration"] == 1 for line in lines) == 1, f"{trial_id} restarted from scratch"
    assert summary["final"]["epochs"] == 2
    again = subprocess.run(command + ["resume", str(run_dir)], capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0 and "finished already" in again.stdout, "the final retrain runs once"

    summary_file = run_dir / "summary.json"
    summary_file.write_text(summary_file.read_text()[:100])  # cut short, as by a full disk
    damaged = subprocess.run(command + ["resume", str(run_dir)], capture_output=True, text=True, env=env, timeout=120)
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr, damaged.stderr[-3000:]
    assert "summary.json cannot be read" in damaged.stderr and f"mv {summary_file}" in damaged.stderr
