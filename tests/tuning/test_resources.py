"""Trials whose resources no node has: refused at once on a private Ray, a bounded wait on a cluster; and a run
without an address never joins a Ray that happens to run on the machine."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from cords_tune.config import parse_config
from cords_tune.errors import ResourcesUnavailableError
from cords_tune.runs import run_experiment
from cords_tune.tuning.resources import check_trial_resources, local_resources
from cords_tune.tuning.session import ray_for_trials

pytestmark = pytest.mark.slow

COMMAND = [sys.executable, "-m", "cords_tune.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "COLUMNS": "200", **extra}
    env.pop("RAY_ADDRESS", None)
    env.update(extra)
    return env


def _more_gpus_than_here() -> int:
    return int(local_resources()["GPU"]) + 1


def test_more_gpus_than_this_machine_has_are_refused_before_ray_starts(tiny_experiment, tmp_path):
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(tiny_experiment))
    gpus = _more_gpus_than_here()
    result = subprocess.run(COMMAND + ["run", str(file), "--set", f"resources.gpus_per_trial={gpus}",
                                       "--output", str(tmp_path / "out")],
                            capture_output=True, text=True, env=_env(), timeout=180)
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"each trial asks for 1 CPU and {gpus} GPU" in result.stderr and "not enough GPUs" in result.stderr
    assert f"this machine has {local_resources()['CPU']:g} CPUs and {gpus - 1} GPU" in result.stderr, result.stderr
    assert "--set resources.gpus_per_trial=" in result.stderr and "Traceback" not in result.stderr
    assert "Ray:" not in result.stderr, "refused before Ray started (it would have said which Ray)"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir()), "no run directory is left"


def test_validate_notes_a_request_this_machine_lacks_unless_ray_address_names_a_cluster(tiny_experiment, tmp_path):
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(tiny_experiment))
    for setting, short in ((f"resources.gpus_per_trial={_more_gpus_than_here()}", "GPUs"),
                           ("resources.cpus_per_trial=1000", "CPUs")):
        result = subprocess.run(COMMAND + ["validate", str(file), "--set", setting], capture_output=True, text=True,
                                env=_env(), timeout=180)
        assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
        note = " ".join(result.stderr.split())
        assert "this machine has" in note and f"not enough {short}" in note, note
        assert "`cords-tune run` here would refuse it" in note, note
    on_cluster = subprocess.run(COMMAND + ["validate", str(file), "--set", "resources.cpus_per_trial=1000"],
                                capture_output=True, text=True, env=_env(RAY_ADDRESS="10.0.0.1:6379"), timeout=180)
    assert on_cluster.returncode == 0 and "this machine" not in on_cluster.stderr, on_cluster.stderr[-3000:]
    fits = subprocess.run(COMMAND + ["validate", str(file)], capture_output=True, text=True, env=_env(), timeout=180)
    assert fits.returncode == 0 and "this machine" not in fits.stderr, fits.stderr[-3000:]


def test_a_ray_joined_is_named_by_its_address_and_not_judged_by_this_machine(local_ray, tiny_experiment):
    tiny_experiment["resources"] = {"cpus_per_trial": 1000}
    notices: list[str] = []
    with ray_for_trials(parse_config(tiny_experiment), "auto", {}, notices.append) as session:
        pass
    address = local_ray.get_runtime_context().gcs_address
    assert session.address == address and str(session).startswith(f"Ray: joined {address} ("), str(session)
    assert any(n.startswith("waiting for resources") for n in notices), "a cluster may grow: its trials wait"


def test_more_cpus_than_any_node_has_are_refused_where_the_cluster_cannot_grow(local_ray, tiny_experiment):
    tiny_experiment["resources"] = {"cpus_per_trial": 64}
    config = parse_config(tiny_experiment)
    with pytest.raises(ResourcesUnavailableError, match="asks for 64 CPUs and 0 GPUs.*not enough CPUs"):
        check_trial_resources(config, can_grow=False)
    waiting = check_trial_resources(config, can_grow=True)
    assert waiting.startswith("waiting for resources") and "after 600 s" in waiting
    tiny_experiment["resources"] = {"cpus_per_trial": 1}
    assert check_trial_resources(parse_config(tiny_experiment), can_grow=False) is None


def test_trials_waiting_too_long_for_resources_stop_with_a_message(local_ray, tiny_experiment, tmp_path):
    # The session's Ray was started by the test, not by the run: like a cluster, it might gain nodes.
    tiny_experiment["resources"] = {"cpus_per_trial": 64, "max_wait_s": 3}
    notices: list[str] = []
    started = time.monotonic()
    with pytest.raises(ResourcesUnavailableError, match=r"no trial could run for \d+ s") as info:
        run_experiment(parse_config(tiny_experiment), output_dir=tmp_path,
                       on_notice=notices.append)
    assert time.monotonic() - started < 60
    assert "64 CPUs" in str(info.value) and "cords-tune resume" in str(info.value)
    assert any(n.startswith("waiting for resources") for n in notices), notices
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "waiting_for_resources"


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_an_address_a_run_starts_a_private_ray_even_when_one_runs_here(tiny_experiment, tmp_path):
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent))
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    head = subprocess.Popen([ray_cli, "start", "--head", "--block", f"--port={port}", "--num-cpus=1",
                             "--include-dashboard=false", f"--temp-dir={temp_dir}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(RAY_AUTH_MODE="disabled"),
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not _answers(port):
            assert head.poll() is None and time.monotonic() < deadline, "the machine's Ray did not start"
            time.sleep(1)
        time.sleep(5)  # its raylet registers after the GCS answers
        tiny_experiment["search"]["num_trials"] = 1
        file = tmp_path / "experiment.yaml"
        file.write_text(yaml.safe_dump(tiny_experiment))
        private = subprocess.run(COMMAND + ["run", str(file), "--output", str(tmp_path / "a")],
                                 capture_output=True, text=True, env=_env(), timeout=300)
        assert private.returncode == 0, private.stderr[-3000:]
        assert "Ray: a private local instance" in private.stderr and "1 CPU," not in private.stderr
    finally:
        if head.poll() is None:
            os.killpg(head.pid, signal.SIGKILL)  # its GCS and raylet too (they share its session)
            head.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)
