"""Ctrl-C and SIGTERM sent to a real driver process at awkward moments: the run says interrupted, exits 130
(143 for SIGTERM), and a resume finishes every configured trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

pytestmark = pytest.mark.slow

COMMAND = [sys.executable, "-m", "cords_tune.cli"]
# The driver, able to print every thread's stack on SIGUSR2: a driver that does not exit is shown where it hangs.
DUMPABLE_DRIVER = [sys.executable, "-c", "import faulthandler, signal, sys; sys.argv[0] = 'cords-tune'; "
                   "faulthandler.register(signal.SIGUSR2, all_threads=True); from cords_tune.cli import main; main()"]


def _env() -> dict[str, str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "TUNE_GLOBAL_CHECKPOINT_S": "2", "COLUMNS": "80"}
    env.pop("RAY_ADDRESS", None)
    return env


def _experiment(tiny_experiment: dict, tmp_path: Path, *, trials: int, final_epochs: int | None = None,
                epochs: int = 4) -> Path:
    """Trials of a second or more each, one at a time, ASHA off (every trial runs all its epochs)."""
    experiment = tiny_experiment
    experiment["dataset"]["params"] = {"num_samples": 12000, "num_features": 32, "num_classes": 3}
    experiment["model"]["params"] = {"hidden": 256, "depth": 2}
    experiment["training"].update(epochs=epochs, batch_size=32)
    experiment["search"].update(num_trials=trials, max_concurrent_trials=1, algorithm="random")
    experiment["search"]["space"] = {"training.lr": {"loguniform": [1.0e-3, 1.0e-2]}}
    experiment["search"]["asha"] = {"enabled": False}
    experiment["fault_tolerance"] = {"checkpoint_every": 1, "keep_checkpoints": 1, "max_failures": 1}
    experiment["final"] = {"enabled": final_epochs is not None, "epochs": final_epochs}
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    return file


def _start(args: list[str], log_file: Path) -> subprocess.Popen:
    with open(log_file, "w") as log:
        return subprocess.Popen(DUMPABLE_DRIVER + args, stdout=log, stderr=log, env=_env(), start_new_session=True)


def _screen(log_file: Path) -> str:
    """What the driver printed so far. A terminal's copy may end inside a character the next read completes."""
    return log_file.read_text(errors="replace")


def _wait_for(driver: subprocess.Popen, log_file: Path, text: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while text not in _screen(log_file):
        assert driver.poll() is None, f"the run ended before {text!r}:\n{_screen(log_file)[-3000:]}"
        assert time.monotonic() < deadline, _screen(log_file)[-3000:]
        time.sleep(0.1)


def _signal_and_wait(driver: subprocess.Popen, log_file: Path, signum: int, timeout: float = 90) -> int:
    """Send ``signum`` as a terminal or `timeout` would (to the driver's process group), and wait for the driver
    to exit. One that does not prints its stacks into its log first."""
    os.killpg(driver.pid, signum)
    try:
        return driver.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        driver.send_signal(signal.SIGUSR2)
        time.sleep(2.0)
        raise AssertionError(f"the driver did not exit within {timeout} s of the signal; where it was:\n"
                             f"{_screen(log_file)[-12000:]}") from None
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()


def test_ctrl_c_while_trials_run_is_an_interrupt_and_resume_finishes_every_trial(tiny_experiment, tmp_path):
    """With a shared strategy: its subsets, kept while the search ran, survive the Ctrl-C, and the resume trains
    the remaining trials on them without a new proxy."""
    tiny_experiment["selection"] = {"strategy": "el2n", "fraction": 0.2, "every": 1, "proxy": {"epochs": 1}}
    epochs = 12  # trials of some seconds: the Ctrl-C lands before the last one ends, on a fast machine too
    file = _experiment(tiny_experiment, tmp_path, trials=3, epochs=epochs)
    log_file = tmp_path / "driver.log"
    driver = _start(["run", str(file), "--output", str(tmp_path / "out")], log_file)
    _wait_for(driver, log_file, "1/3 trials done")
    code = _signal_and_wait(driver, log_file, signal.SIGINT)
    log = log_file.read_text()
    assert code == 130, log[-3000:]
    assert "Traceback" not in log and "cords-tune resume" in log, log[-6000:]
    (run_dir,) = (tmp_path / "out").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["num_trials"] == 3, "the configured count, not the trials started"
    # Progress lines are never hard-wrapped when the output is not a terminal, whatever COLUMNS says.
    assert all("best" in line for line in log.splitlines() if "trials done" in line)
    kept = (run_dir / "shared_subset.pt").read_bytes()

    resumed = subprocess.run(COMMAND + ["resume", str(run_dir)], capture_output=True, text=True, env=_env(),
                             timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["num_trials"] == summary["trials_started"] == 3
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len(trials) == 3 and all(t["status"] == "completed" and t["epochs"] == epochs for t in trials), trials
    assert "3/3 trials done" in resumed.stderr, "the resumed progress counts the trials finished before"
    assert (run_dir / "shared_subset.pt").read_bytes() == kept, "the resume trained no new proxy"
    assert summary["timings"]["shared_subset_s"] == 0 and summary["shared_subset"]["strategy"] == "el2n"


def _summary_written(run_dir_parent: Path) -> bool:
    return any((run_dir / "summary.json").is_file() for run_dir in run_dir_parent.glob("*"))


@pytest.mark.parametrize("moment", ["as the last trial ends", "once the results are written"])
def test_a_ctrl_c_between_phases_says_what_is_left_and_following_it_finishes_the_run(tiny_experiment, tmp_path, moment):
    """Between the phases that handle their own Ctrl-C (the search, the finalists) a run collects its trials,
    writes its results and shuts Ray down. A Ctrl-C there is an interrupt too: no traceback, and a message that
    says, from what the run directory holds, whether the run had finished or how to continue it."""
    file = _experiment(tiny_experiment, tmp_path, trials=2)
    log_file, out = tmp_path / "driver.log", tmp_path / "out"
    driver = _start(["run", str(file), "--output", str(out)], log_file)
    if moment == "as the last trial ends":
        _wait_for(driver, log_file, "2/2 trials done")
    else:  # summary.json is written last; Ray's shutdown follows
        deadline = time.monotonic() + 300
        while not _summary_written(out):
            assert driver.poll() is None and time.monotonic() < deadline, log_file.read_text()[-3000:]
            time.sleep(0.02)
    code = _signal_and_wait(driver, log_file, signal.SIGINT)
    log = log_file.read_text()
    assert code == 130 and "Traceback" not in log, log[-3000:]
    (run_dir,) = out.iterdir()
    if "cords-tune resume" in log:
        resumed = subprocess.run(COMMAND + ["resume", str(run_dir)], capture_output=True, text=True, env=_env(),
                                 timeout=300)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
    else:
        assert f"it had finished, and its results are in {run_dir}" in log, log[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["trials_completed"] == 2


def test_one_ctrl_c_stops_the_finalists_full_data_training(tiny_experiment, tmp_path):
    file = _experiment(tiny_experiment, tmp_path, trials=2, final_epochs=400)
    log_file = tmp_path / "driver.log"
    driver = _start(["run", str(file), "--output", str(tmp_path / "out")], log_file)
    _wait_for(driver, log_file, "training the top 2 configs on the full data")
    time.sleep(2.0)
    started = time.monotonic()
    code = _signal_and_wait(driver, log_file, signal.SIGINT, timeout=60)
    assert code == 130, log_file.read_text()[-3000:]
    assert time.monotonic() - started < 60
    (run_dir,) = (tmp_path / "out").iterdir()
    interrupted = json.loads((run_dir / "summary.json").read_text())
    assert interrupted["status"] == "interrupted" and interrupted["trials_completed"] == 2, "the trials are kept"

    # The resume trains the finalists again (shortened here) and counts the interrupted session's time: its
    # search, complete (phases/search.json), is not run or restored again, and its time is the search that ran.
    config_file = run_dir / "config.yaml"
    config_file.write_text(config_file.read_text().replace("epochs: 400", "epochs: 1"))
    resumed = subprocess.run(COMMAND + ["resume", str(run_dir)], capture_output=True, text=True, env=_env(),
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["resumed"] is True and summary["final"]["epochs"] == 1, summary
    assert summary["tuning_wall_s"] == pytest.approx(interrupted["tuning_wall_s"]), (summary, interrupted)
    assert summary["end_to_end_wall_s"] > interrupted["end_to_end_wall_s"], (summary["end_to_end_wall_s"], interrupted)
    assert summary["slot_use"]["work_s"] == interrupted["slot_use"]["work_s"] > 0, "no trial ran again"
    finalists = [line for line in resumed.stderr.splitlines() if "finalist" in line and ": epoch " not in line]
    assert len(finalists) == 3 and not any("trials done" in line for line in finalists), resumed.stderr[-3000:]
    assert sum("on the full data: epoch 1/1" in line for line in resumed.stderr.splitlines()) == 2
    assert "study" not in resumed.stderr, f"no Optuna log lines: {resumed.stderr[-3000:]}"


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_the_run_like_ctrl_c_without_raw_signal_lines(tiny_experiment, tmp_path, signum,
                                                                              exit_code):
    """`timeout`, `kill -TERM -PGID`, a terminal closed (SIGHUP): a signal to every process of the driver's group,
    which reaches the driver alone, as `kill PID` or a supervisor's does (Ray's own processes, when they were in
    the group, stopped at once and took the driver down a minute later). The driver exits 128 + the signal."""
    file = _experiment(tiny_experiment, tmp_path, trials=3)
    log_file = tmp_path / "driver.log"
    driver = _start(["run", str(file), "--output", str(tmp_path / "out")], log_file)
    _wait_for(driver, log_file, "1/3 trials done")
    code = _signal_and_wait(driver, log_file, signum, timeout=50)
    log = log_file.read_text()
    assert code == exit_code, log[-3000:]
    assert "SIGTERM received" not in log and "***" not in log and "Traceback" not in log, log[-3000:]
    assert "cords-tune resume" in log, log[-3000:]
    (run_dir,) = (tmp_path / "out").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"


def test_a_disk_that_fills_up_mid_run_gives_one_message_and_resume_finishes(tiny_experiment, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root and mount rights")
    try:
        file = _experiment(tiny_experiment, tmp_path, trials=3)
        log_file = tmp_path / "driver.log"
        driver = _start(["run", str(file), "--output", str(disk / "out")], log_file)
        _wait_for(driver, log_file, "1/3 trials done")
        filler = disk / "filler"
        with open(filler, "wb") as out:  # someone else's big file fills the disk
            with pytest.raises(OSError):
                while True:
                    out.write(b"\0" * (1 << 20))
                    out.flush()
        code = driver.wait(timeout=300)
        log = log_file.read_text()
        assert code == 1 and "is full (" in log and "cords-tune resume" in log, log[-3000:]
        assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
        (run_dir,) = (disk / "out").iterdir()
        assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted", "written, in one piece"
        filler.unlink()
        resumed = subprocess.run(COMMAND + ["resume", str(run_dir)], capture_output=True, text=True, env=_env(),
                                 timeout=400)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
        assert len(trials) == 3 and all(t["status"] == "completed" and t["epochs"] == 4 for t in trials), trials
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_trials_still_pending_at_a_ctrl_c_are_not_started_rather_than_stopped_early(tiny_experiment, tmp_path):
    """ASHA off and one trial at a time (each takes every CPU): at the Ctrl-C the others have not started, and the
    summary and trials.parquet say so instead of counting them as stopped early."""
    file = _experiment(tiny_experiment, tmp_path, trials=3, epochs=40)
    log_file, out = tmp_path / "driver.log", tmp_path / "out"
    driver = _start(["run", str(file), "--output", str(out), "--set", "search.max_concurrent_trials=null",
                     "--set", f"resources.cpus_per_trial={os.cpu_count()}"], log_file)
    _wait_for(driver, log_file, "0/3 trials done")
    time.sleep(2.0)
    assert _signal_and_wait(driver, log_file, signal.SIGINT) == 130, log_file.read_text()[-3000:]
    (run_dir,) = out.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    pending = [t for t in trials if t["epochs"] == 0]
    assert pending, f"a trial was still pending at the Ctrl-C: {trials}"
    assert all(t["status"] == "not_started" for t in pending), trials
    assert summary["trials_stopped_early"] == sum(t["status"] == "stopped" for t in trials) <= len(trials) - len(pending)
    assert summary["trials_started"] == len(trials) - len(pending)
    assert "not_started" in (run_dir / "report.md").read_text()


def test_a_resumed_trial_that_reports_its_epochs_again_is_not_warned_about(tiny_experiment, tmp_path):
    """A trial interrupted before its first checkpoint starts again on resume and reports its first epochs again:
    expected, so Optuna's warning about each repeated step does not show. Nor does Ray's about the snapshots Tune
    forces as trials checkpoint (made certain here by its time threshold; it shows with -v)."""
    file = _experiment(tiny_experiment, tmp_path, trials=2, epochs=30)
    log_file, out = tmp_path / "driver.log", tmp_path / "out"
    driver = _start(["run", str(file), "--output", str(out), "--set", "fault_tolerance.checkpoint_every=100",
                     "--set", "fault_tolerance.keep_checkpoints=1"], log_file)
    deadline = time.monotonic() + 300
    while not any(r.stat().st_size for r in out.rglob("result.json")):  # a trial has reported an epoch
        assert driver.poll() is None and time.monotonic() < deadline, log_file.read_text()[-3000:]
        time.sleep(0.1)
    assert _signal_and_wait(driver, log_file, signal.SIGINT) == 130, log_file.read_text()[-3000:]
    (run_dir,) = out.iterdir()
    config_file = run_dir / "config.yaml"  # long trials until the Ctrl-C; the resume repeats the first epochs only
    config = config_file.read_text()
    assert config.count("epochs: 30\n") == 1, config
    config_file.write_text(config.replace("epochs: 30\n", "epochs: 3\n"))
    env = {**_env(), "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "1000"}
    resumed = subprocess.run(COMMAND + ["resume", str(run_dir), "-v"], capture_output=True, text=True, env=env,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "is already reported" not in resumed.stderr and "snapshotting" not in resumed.stderr, resumed.stderr


def test_a_closed_terminal_stops_the_run_like_sighup_from_a_pipe(tiny_experiment, tmp_path):
    """The terminal really closes: the driver's stdout and stderr are a terminal whose other end is gone, so every
    write to them fails (EIO). The run still ends as interrupted with 129, its summary written, and resumes."""
    import pty
    import threading

    file = _experiment(tiny_experiment, tmp_path, trials=3)
    log_file = tmp_path / "driver.log"
    master, slave = pty.openpty()
    driver = subprocess.Popen(DUMPABLE_DRIVER + ["run", str(file), "--output", str(tmp_path / "out")], stdin=slave,
                              stdout=slave, stderr=slave, env=_env(), start_new_session=True)
    os.close(slave)

    def copy_the_screen() -> None:  # what the terminal shows, for _wait_for
        with open(log_file, "ab") as log:
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                log.write(chunk)
                log.flush()

    log_file.write_bytes(b"")
    reader = threading.Thread(target=copy_the_screen, daemon=True)
    reader.start()
    try:
        _wait_for(driver, log_file, "1/3 done")  # the live table's line
    finally:
        os.close(master)  # the terminal window closes
    reader.join(timeout=5)
    code = _signal_and_wait(driver, log_file, signal.SIGHUP, timeout=50)
    assert code == 129, _screen(log_file)[-3000:]
    (run_dir,) = (tmp_path / "out").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"
