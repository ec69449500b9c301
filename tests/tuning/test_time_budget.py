"""search.time_budget_s with a real `cords-tune run` whose output is piped: the budget ends the search (status ok,
with a note), the finalists still train, and a log hears of every finalist epoch."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import TINY_EXPERIMENT

pytestmark = pytest.mark.slow

BUDGET_S = 8
ASKED = 1000
FINAL_EPOCHS = 3


@dataclass(frozen=True)
class BudgetRun:
    run_dir: Path
    process: subprocess.CompletedProcess


def _experiment(folder: Path, final_epochs: int) -> Path:
    """1000 trials of four epochs asked for, with an 8-s budget: far more than fit in it."""
    experiment = copy.deepcopy(TINY_EXPERIMENT)
    experiment["dataset"]["data_dir"] = str(folder / "data")
    experiment["dataset"]["params"]["num_samples"] = 3000
    experiment["training"]["epochs"] = 4
    experiment["search"].update(num_trials=ASKED, time_budget_s=BUDGET_S, algorithm="random")
    experiment["search"]["asha"] = {"enabled": False}  # each trial runs until the budget stops it
    experiment["final"] = {"top_k": 2, "epochs": final_epochs}
    file = folder / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    return file


def _env() -> dict[str, str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "TUNE_GLOBAL_CHECKPOINT_S": "2"}
    env.pop("RAY_ADDRESS", None)
    return env


COMMAND = [sys.executable, "-m", "cords_tune.cli"]


@pytest.fixture(scope="module")
def budget_run(tmp_path_factory) -> BudgetRun:
    folder = tmp_path_factory.mktemp("budget")
    file = _experiment(folder, FINAL_EPOCHS)
    process = subprocess.run(COMMAND + ["run", str(file), "--output", str(folder / "out")],
                             capture_output=True, text=True, env=_env(), timeout=500)  # piped: not a terminal
    (run_dir,) = (folder / "out").iterdir()
    return BudgetRun(run_dir, process)


def test_the_time_budget_ends_the_search_and_the_finalists_still_train(budget_run):
    process, run_dir = budget_run.process, budget_run.run_dir
    assert process.returncode == 0, process.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["num_trials"] == ASKED
    started = summary["trials_started"]
    assert 0 < started < ASKED
    note = f"the time budget (search.time_budget_s = {BUDGET_S} s) stopped the search after {started} of {ASKED} trials"
    assert summary["notes"] == [note] and note in process.stdout, process.stdout[-3000:]
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len(trials) == started and all(t["epochs"] >= 1 for t in trials), "no trial that never trained is listed"
    # ASHA is off: a trial that did not run its 4 epochs was stopped by the budget, not "stopped early"
    assert {t["status"] for t in trials} <= {"completed", "out_of_time"}, [t["status"] for t in trials]
    assert [t["status"] == "out_of_time" for t in trials] == [t["epochs"] < 4 for t in trials]
    assert summary["trials_stopped_early"] == 0
    assert [f["epochs"] for f in summary["finalists"]] == [FINAL_EPOCHS, FINAL_EPOCHS]
    assert summary["final"]["epochs"] == FINAL_EPOCHS and (run_dir / "model.pt").is_file()


def test_a_piped_run_reports_every_finalist_epoch(budget_run):
    """Without a terminal there is no live table: each finalist's epochs are lines of the log."""
    log = budget_run.process.stderr
    for rank in (1, 2):
        for epoch in range(1, FINAL_EPOCHS + 1):
            assert f"finalist {rank} on the full data: epoch {epoch}/{FINAL_EPOCHS}, val_accuracy " in log, log[-3000:]


class _Trial:
    """What the budget reads of Tune's trials."""

    def __init__(self, trial_id: str, status: str, epochs: int = 0) -> None:
        self.trial_id, self.status = trial_id, status
        self.last_result = {"training_iteration": epochs} if epochs else {}


def test_the_budget_lets_the_trials_running_when_it_is_spent_finish_their_epoch():
    from cords_tune.tuning.budget import TimeBudget, search_budget

    trials = [_Trial("a", "RUNNING"), _Trial("b", "RUNNING"), _Trial("c", "PENDING")]
    budget = TimeBudget("search")
    with search_budget("search", 5, spent_before_s=5) as clock:  # its deadline is now
        budget.on_step_begin(0, trials)
        assert not clock.spent, "no trial has reported an epoch yet: there would be nothing to pick"
        assert budget("a", {"training_iteration": 1}), "the first report after the deadline stops its trial"
        trials[0].status = "TERMINATED"
        assert clock.running_then == {"a", "b"} and not budget.stop_all(), "b finishes the epoch it is in"
        budget.on_step_begin(1, trials)
        assert budget("b", {"training_iteration": 1})
        trials[1].status = "TERMINATED"
        assert budget.stop_all(), "then the search ends: c never starts"


def test_a_resumed_search_counts_the_time_its_earlier_sessions_took():
    from cords_tune.tuning.budget import TimeBudget, search_budget

    restored = [_Trial("a", "TERMINATED", epochs=2), _Trial("b", "PENDING", epochs=1)]
    budget = TimeBudget("resumed")
    with search_budget("resumed", 60, spent_before_s=30) as clock:
        budget.on_step_begin(0, restored)
        assert not clock.spent and not budget.stop_all()
    with search_budget("resumed", 60, spent_before_s=61):
        budget.on_step_begin(0, restored)
        assert budget.stop_all(), "spent before this session: the unfinished trial does not continue"
    with search_budget("unbudgeted", None) as clock:
        assert clock is None
    assert not budget("a", {"training_iteration": 3}) and not budget.stop_all(), "no clock: it never stops"


def test_a_run_the_budget_ended_resumes_to_its_finalists_without_more_trials(tmp_path):
    """Interrupted while its finalists train: the resumed search has no budget left, so it starts no trial (the
    unfinished trials do not continue) and the finalists train."""
    file = _experiment(tmp_path, final_epochs=400)
    log_file = tmp_path / "driver.log"
    with open(log_file, "w") as log:
        driver = subprocess.Popen(COMMAND + ["run", str(file), "--output", str(tmp_path / "out")], stdout=log,
                                  stderr=log, env=_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 400
        while "training the top 2 configs" not in log_file.read_text():
            assert driver.poll() is None and time.monotonic() < deadline, log_file.read_text()[-3000:]
            time.sleep(0.2)
        os.killpg(driver.pid, signal.SIGINT)
        assert driver.wait(timeout=90) == 130, log_file.read_text()[-3000:]
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    (run_dir,) = (tmp_path / "out").iterdir()
    interrupted = json.loads((run_dir / "summary.json").read_text())
    assert interrupted["status"] == "interrupted"
    config_file = run_dir / "config.yaml"
    config_file.write_text(config_file.read_text().replace("epochs: 400", "epochs: 1"))

    resumed = subprocess.run(COMMAND + ["resume", str(run_dir)], capture_output=True, text=True, env=_env(),
                             timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["final"]["epochs"] == 1
    assert summary["trials_started"] == interrupted["trials_started"] < ASKED
    assert summary["slot_use"]["work_s"] == interrupted["slot_use"]["work_s"], "no trial trained again"
    assert summary["notes"] == [f"the time budget (search.time_budget_s = {BUDGET_S} s) stopped the search after "
                                f"{summary['trials_started']} of {ASKED} trials"]
