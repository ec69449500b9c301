"""The command line through real subprocesses: exit codes, messages, no tracebacks for user mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cords_tune.reports.wording import speed

ROOT = Path(__file__).parents[1]


def cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run(
        [sys.executable, "-m", "cords_tune.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def write(tmp_path: Path, data, name: str = "experiment.yaml") -> Path:
    file = tmp_path / name
    file.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return file


def test_validate_a_shipped_experiment():
    result = cli("validate", "experiments/mnist1d.yaml")
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout and "mnist1d" in result.stdout


@pytest.mark.parametrize(
    ("content", "overrides", "expected"),
    [
        ({"name": "x", "training": {"epochs": -3}}, [], "training.epochs"),
        ({"name": "x", "selection": {"strategy": "gradmach"}}, [], "selection.strategy: unknown strategy"),
        ({"name": "x", "search": {"metric": "val_auc"}}, [], "search.metric: must be one of val_accuracy, val_loss, "
         "val_balanced_accuracy, val_f1_macro, val_roc_auc. Got 'val_auc' instead. Did you mean 'val_roc_auc'?"),
        ("name: [oops\n", [], "not valid YAML at line 2"),
        ({"name": "x"}, ["training.lr=-1"], "training.lr"),
        ({"name": "x"}, ["training.lr"], "a.b=value"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_configs_exit_2_with_one_message_and_no_traceback(tmp_path, content, overrides, expected, command):
    file = write(tmp_path, content)
    args = [command, str(file)] + [x for o in overrides for x in ("--set", o)]
    if command == "run":
        args += ["--output", str(tmp_path / "out")]
    result = cli(*args, timeout=60)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists(), "nothing may start for a bad config"


def test_validate_accepts_a_search_metric_beyond_accuracy_and_loss(tmp_path, tiny_experiment):
    tiny_experiment["search"]["metric"] = "val_roc_auc"
    result = cli("validate", str(write(tmp_path, tiny_experiment)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_missing_file_and_directory_exit_2(tmp_path):
    for target, expected in ((tmp_path / "absent.yaml", "does not exist"), (tmp_path, "is a directory")):
        result = cli("validate", str(target))
        assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr
    for target, expected in ((tmp_path / "absent", "does not exist"), (tmp_path, "is not a run directory")):
        result = cli("resume", str(target))
        assert result.returncode == 2 and expected in result.stderr, result.stderr


def test_strategies_lists_every_registered_strategy_with_how_it_selects_and_its_recorded_cost():
    from cords_tune.selection import STRATEGIES
    from cords_tune.selection.cost import recorded_costs

    result = cli("strategies")
    assert result.returncode == 0
    rows = {line.split()[0]: line for line in _first_table(result.stdout)}
    recorded = recorded_costs()
    assert recorded is not None and recorded.experiment in result.stdout
    for name in STRATEGIES.names():
        kind = STRATEGIES.get(name)
        row = rows[name]
        assert ("shared" in row) == kind.shared and ("gradients" in row) == kind.needs_gradients
        cost = recorded.cost_of(name)
        if kind.uses_subsets:
            shown = f"{1000 * cost.seconds:.1f} ms" if cost.seconds < 1 else f"{cost.seconds:.2f} s"
            assert shown in row
    assert "trains its proxy once per run" in result.stdout


def test_strategies_measures_one_selection_each_on_an_experiments_data(tmp_path, tiny_experiment):
    tiny_experiment["selection"] = {"strategy": "random", "fraction": 0.2, "proxy": {"epochs": 1}}
    file = write(tmp_path, tiny_experiment)
    result = cli("strategies", "--measure", str(file))
    assert result.returncode == 0, result.stderr
    assert "measured on tiny (" in result.stdout and "measuring one selection" in result.stderr
    rows = {line.split()[0]: line.split() for line in _first_table(result.stdout)}
    assert rows["full"][-1] == "-"  # nothing to select
    assert rows["gradmatch"][-1] in ("ms", "s")
    bad = cli("strategies", "--measure", str(tmp_path / "missing.yaml"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr


def _first_table(text: str) -> list[str]:
    """The lines of the first table printed (up to the first blank line)."""
    return text.split("\n\n")[0].splitlines()


def test_version():
    from cords_tune import __version__

    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"cords-tune {__version__}", result.stdout


def test_usage_errors_exit_2():
    assert cli("run").returncode == 2
    assert cli("no-such-command").returncode == 2


@pytest.mark.slow
def test_run_end_to_end(tmp_path, tiny_experiment):
    tiny_experiment["search"]["num_trials"] = 2
    file = write(tmp_path, tiny_experiment)
    result = cli("run", str(file), "--output", str(tmp_path / "runs"), "--set", "training.epochs=2", "--baseline")
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert str(run_dir) in result.stdout.replace("\n", "")
    assert "final test accuracy" in result.stdout
    assert "2/2 trials done" in result.stderr  # progress lines when not on a terminal
    assert "baseline: tuning on the full data: 2/2 trials done" in result.stderr
    after_search = [line for line in result.stderr.splitlines() if "finalist" in line or "baseline: testing" in line
                    or "baseline: retraining" in line]
    assert len(after_search) >= 4, result.stderr[-3000:]  # the finalists start, each ends; the baseline's best
    assert not any("trials done" in line for line in after_search), "no recap of the search's counts"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["num_trials"] == 2 and summary["final"]["epochs"] == 2
    comparison = json.loads((run_dir / "comparison.json").read_text())
    assert "compared with tuning on the full data" in result.stdout
    assert speed(comparison["tuning_speedup"]) in result.stdout  # "x faster", or "x slower" on this tiny search
    assert "finalists trained on the full data" in result.stdout and "picked" in result.stdout
    assert "regret against the full-data pick" in result.stdout
    assert comparison["finalists_subset"] == 2 and comparison["regret_test_accuracy"] == pytest.approx(
        -comparison["accuracy_delta"])
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_fidelity_end_to_end(tmp_path, tiny_experiment):
    file = write(tmp_path, tiny_experiment)
    result = cli("fidelity", str(file), "--configs", "3", "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    fidelity = json.loads((run_dir / "fidelity.json").read_text())
    assert len(fidelity["configs"]) == 3 and (run_dir / "fidelity.png").is_file()
    assert "Spearman" in result.stdout and "top-1 agrees" in result.stdout
    assert "top 2 / top 3 settled on the full data" in result.stdout.replace("\n", " ")
    assert fidelity["top1_regret"] >= fidelity["top2_regret"] >= fidelity["top3_regret"] == 0.0  # 3 of 3
    assert "6/6" in result.stderr  # 3 configurations x (subsets, full data)
    assert result.stderr.startswith("Ray: a private local instance"), result.stderr[:500]
    assert "Traceback" not in result.stderr


def test_fidelity_with_too_few_configurations_exits_2(tmp_path, tiny_experiment):
    result = cli("fidelity", str(write(tmp_path, tiny_experiment)), "--configs", "1", "--output", str(tmp_path / "out"))
    assert result.returncode == 2 and "at least 2" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_an_unreachable_cluster_address_fails_fast_and_writes_nothing(tmp_path):
    result = cli("run", "experiments/mnist1d.yaml", "--address", "127.0.0.1:1", "--output", str(tmp_path / "out"),
                 timeout=120)
    assert result.returncode == 2 and "no Ray cluster answers at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["a file", "unwritable"])
def test_a_bad_output_directory_exits_2_before_anything_starts(tmp_path, kind):
    if kind == "a file":
        target = tmp_path / "results.txt"
        target.write_text("not a directory")
        expected = "is a file, not a directory"
    else:
        target = Path("/proc/cords-tune-results")  # a place nobody can make a directory
        expected = "cannot write results into"
    result = cli("run", "experiments/mnist1d.yaml", "--output", str(target), timeout=60)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert "Ray:" not in result.stderr, "nothing may start"


def test_validate_reports_unreadable_dataset_files_as_an_error(tmp_path):
    folder = tmp_path / "data" / "cifar10"
    folder.mkdir(parents=True)
    (folder / "cifar-10-python.tar.gz").write_bytes(b"truncated download")
    file = write(tmp_path, {"name": "x", "dataset": {"name": "cifar10", "data_dir": str(tmp_path / "data")},
                            "model": {"name": "lenet"}})
    result = cli("validate", str(file), timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "there but cannot be read" in result.stderr and "not on this machine yet" not in result.stdout
    assert "Traceback" not in result.stderr


def _mounted_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_disk_too_small_for_the_run_is_refused_with_the_bytes_needed(tmp_path):
    disk = tmp_path / "small-disk"
    if not _mounted_tmpfs(disk, "300k"):
        pytest.skip("mounting a tmpfs needs root and mount rights")
    try:
        result = cli("run", "experiments/mnist1d.yaml", "--output", str(disk), timeout=120)
        assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout, result.stderr
        assert f"not enough disk space in {disk}" in result.stderr and "MiB" in result.stderr, result.stderr
        assert "KiB is free" in result.stderr
        assert not any(disk.iterdir()), "nothing started, nothing written"
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_cluster_that_cannot_be_joined_leaves_no_run_directory(tmp_path, tiny_experiment):
    # A Ray Client address passes the quick port probe (it is Ray's to resolve); ray.init then fails.
    file = write(tmp_path, tiny_experiment)
    result = cli("run", str(file), "--address", "ray://127.0.0.1:9", "--output", str(tmp_path / "out"), timeout=120)
    assert result.returncode == 2, result.stderr
    assert "cannot start or join Ray (ray://127.0.0.1:9)" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.5, 0.8, 1.2])
def test_a_ctrl_c_while_the_command_starts_says_interrupted_without_a_traceback(delay):
    # The entry point the `cords-tune` script calls, with a Ctrl-C `delay` s after the interpreter is up: while
    # the command's modules import, while it parses its arguments, or while it loads the data.
    interrupted_after = (f"import os, signal, sys, threading; from cords_tune.__main__ import main; sys.argv = "
                         f"['cords-tune', 'validate', 'experiments/mnist1d.yaml']; threading.Timer({delay}, os.kill, "
                         f"(os.getpid(), signal.SIGINT)).start(); main()")
    result = subprocess.run([sys.executable, "-c", interrupted_after], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    finished = result.returncode == 0 and "ok" in result.stdout  # the Ctrl-C came after it was done
    assert finished or result.returncode == 130, f"exit code {result.returncode}: {result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    if not finished:
        assert result.stderr.strip().endswith("interrupted"), f"one line says why it stopped: {result.stderr!r}"


@pytest.mark.parametrize("command", [[], ["run"], ["validate"], ["resume"], ["train"], ["fidelity"], ["strategies"]])
def test_help_shows_no_type_beside_a_flag_and_names_what_an_option_takes(command):
    result = cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    for typed in ("<bool>", "<list[", "<str>", "<int>"):
        assert typed not in result.stdout, f"{typed} in the help of {command}:\n{result.stdout}"
    assert "--help" in result.stdout
    if command == ["run"]:
        assert "--set" in result.stdout and "FIELD=VALUE" in result.stdout and "ADDRESS" in result.stdout


def test_validate_takes_any_fraction_for_infobatch_and_says_it_sizes_its_own_subsets(tmp_path, tiny_experiment):
    result = cli("validate", str(write(tmp_path, tiny_experiment)), "--set", "selection.strategy=infobatch",
                 "--set", "selection.fraction=0.001")
    assert result.returncode == 0, result.stderr
    assert "strategy infobatch (sizing its own subsets)" in result.stdout and "0.001" not in result.stdout


def test_without_a_terminal_a_quiet_run_still_prints_a_line_at_each_heartbeat(monkeypatch, capsys):
    """In a log or a pipe there is no live table: while nothing is reported (Ray starting, long finalists), a line
    comes every HEARTBEAT_S (30 s; shortened here)."""
    import time

    from cords_tune.cli import progress as display
    from cords_tune.tuning.progress import Progress

    monkeypatch.setattr(display, "HEARTBEAT_S", 0.2)
    with display.progress_display() as on_progress:
        time.sleep(1.0)  # loading the data, starting Ray: nothing reported yet
        progress = Progress(total=4, phase="training the top 2 configs on the full data (finalists)", searching=False)
        on_progress(progress)
        time.sleep(1.0)
    lines = capsys.readouterr().err.splitlines()
    starting = "starting: loading data, starting Ray and the trials' workers ..."
    assert len([line for line in lines if line.endswith(starting)]) >= 2, lines
    still = [line for line in lines if "training the top 2 configs on the full data (finalists): still running" in line]
    assert len(still) >= 2, lines
    assert sum("(finalists)" in line and "still running" not in line for line in lines) == 1, "the event, once"
