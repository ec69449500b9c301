"""The finalists' tasks land on worker processes that the warm-up tasks, started in the search's tail, have
already made import the training code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import yaml

from cords_tune.config import parse_config
from cords_tune.tuning.warm_workers import WarmWorkersInTheTail, tasks_after_search, warm_up, warm_workers
from cords_tune.tuning.worker import as_trial_task


def tiny(**sections):
    """The tiny experiment of four trials, with ``sections`` replaced."""
    from tests.conftest import TINY_EXPERIMENT

    return parse_config({**TINY_EXPERIMENT, "search": {**TINY_EXPERIMENT["search"], "num_trials": 4}, **sections})


@pytest.fixture(scope="module")
def config():
    return tiny()


def test_tasks_submitted_after_the_warm_up_run_in_its_processes_with_torch_imported(local_ray, config):
    warmed = local_ray.get(warm_workers(config, 2))
    pids = {w.pid for w in warmed}
    assert all(w.import_s >= 0 for w in warmed)
    later = local_ray.get([as_trial_task(lambda: os.getpid(), config).remote() for _ in range(2)])
    assert set(later) <= pids  # no new process: the warmed ones were reused
    again = local_ray.get(warm_workers(config, 2))
    assert all(w.already_warm for w in again)  # torch was in sys.modules before the task's imports


def test_a_gpu_finalist_lands_on_a_process_warmed_with_a_gpu_though_ray_ends_gpu_tasks_processes(local_ray):
    """The session's Ray has one (logical) GPU: enough to see which process a GPU task is given."""
    config = tiny(resources={"cpus_per_trial": 1, "gpus_per_trial": 0.5})
    (warmed,) = local_ray.get(warm_workers(config, 1))
    finalist = as_trial_task(lambda: os.getpid(), config)  # as a finalist's task is made: ended after one call
    assert local_ray.get(finalist.remote()) == warmed.pid
    assert local_ray.get(finalist.remote()) != warmed.pid  # that process ended with the finalist


def test_the_warm_up_starts_in_the_slots_the_tail_leaves_idle_once_no_trial_is_pending(local_ray, config):
    trials = lambda *statuses: [SimpleNamespace(status=s) for s in statuses]  # noqa: E731
    tail = WarmWorkersInTheTail(config, 2)
    tail.on_step_end(1, trials("RUNNING", "RUNNING", "TERMINATED"))  # a fourth trial is still to be created
    tail.on_step_end(2, trials("RUNNING", "RUNNING", "TERMINATED", "PENDING"))  # a trial waits for the slot
    tail.on_step_end(3, trials("RUNNING", "RUNNING", "RUNNING", "RUNNING"))  # four slots, every one busy
    assert not tail.warming
    tail.on_step_end(4, trials("RUNNING", "RUNNING", "RUNNING", "TERMINATED"))
    assert len(tail.warming) == 1  # one idle slot
    tail.on_step_end(5, trials("RUNNING", "TERMINATED", "ERROR", "TERMINATED"))
    assert len(tail.warming) == 2  # three idle, but two trainings follow
    tail.on_step_end(6, trials("TERMINATED", "TERMINATED", "ERROR", "TERMINATED"))
    assert len(tail.warming) == 2
    assert all(isinstance(w.pid, int) for w in local_ray.get(tail.warming))


def test_the_finalists_count_is_what_is_warmed(config):
    assert tasks_after_search(config) == config.final.top_k
    assert tasks_after_search(tiny(final={"enabled": False})) == 0
    assert tasks_after_search(tiny(final={"top_k": 9})) == 4  # no more than the trials


def test_the_warm_up_imports_the_plugins_it_is_given(tmp_path, monkeypatch):
    plugin = tmp_path / "warm_plugin_sample.py"
    plugin.write_text("MARK = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert warm_up(("warm_plugin_sample",)).pid == os.getpid()
    assert "warm_plugin_sample" in sys.modules


SEARCH = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import ray
    from cords_tune.config import load_config
    from cords_tune.preflight import load_and_check
    from cords_tune.tuning.search import SearchSpec, run_search
    from cords_tune.tuning.session import ray_session
    from cords_tune.tuning.warm_workers import warm_workers

    config = load_config(sys.argv[1])
    data = load_and_check(config)
    folder = Path(sys.argv[2])
    with ray_session(None):
        spec = SearchSpec(config, data, ray.put(data), None, str(folder / "tune"), "search", folder=folder,
                          display="warm-test", phase="tuning", run_dir=folder)
        run_search(spec)
        after = ray.get(warm_workers(config, 2))
    print(json.dumps([w.already_warm for w in after]))
""")


@pytest.mark.slow
def test_after_a_search_whose_tail_left_a_slot_idle_the_finalists_processes_are_warm(tmp_path, tiny_experiment):
    """A search on its own Ray (no task ran there before it): right after it, a finalist's process has imported
    torch already: the search's tail warmed it in the slot the last trial left idle."""
    tiny_experiment["search"].update(num_trials=3, max_concurrent_trials=2)
    tiny_experiment["final"] = {"top_k": 2}
    config = tmp_path / "experiment.yaml"
    config.write_text(yaml.safe_dump(tiny_experiment))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, "-c", SEARCH, str(config), str(tmp_path / "run")], capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert True in json.loads(done.stdout.strip().splitlines()[-1])  # the slot the last trial left idle
