"""A real multi-node Ray cluster inside the test (ray.cluster_utils.Cluster, logical GPUs): trials spread
over the GPU nodes, fractional GPUs pack as configured, a driver joins with --address."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import ray
import yaml

from cords_tune.errors import StorageError
from cords_tune.tuning import storage as storage_module

pytestmark = [pytest.mark.slow, pytest.mark.own_cluster]


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized(), "this module needs its own cluster; run it before in-process Ray tests"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0})
    workers = [cluster.add_node(num_cpus=2, num_gpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, [w.node_id for w in workers]
    cluster.shutdown()


def _run_on(cluster, experiment: dict, tmp_path, *options: str) -> subprocess.CompletedProcess:
    """``cords-tune run`` of ``experiment`` in its own driver process joining ``cluster`` (from ``tmp_path``)."""
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "cords_tune.cli", "run", str(file), "--address", cluster.address, *options,
         "--output", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=480, env=env, cwd=tmp_path,
    )


def test_trials_spread_over_gpu_nodes_with_half_a_gpu_each_and_a_plugin_file_reaches_them(cluster, tmp_path):
    """The experiment's dataset and model come from a plugin file in a folder no worker has on its path: Ray
    ships it (runtime_env py_modules), and the trials and the retrain on the worker nodes import the shipped
    copy."""
    from tests.plugin_samples import plugin_experiment, write_plugin

    cluster, worker_ids = cluster
    plugin = write_plugin(tmp_path / "user-code", "shipped")
    experiment = plugin_experiment("shipped", "placeholder.py", tmp_path)
    experiment.pop("plugins")
    experiment["search"].update(num_trials=4, max_concurrent_trials=4)
    experiment["training"]["device"] = "auto"  # logical GPUs: no CUDA here, trials fall back to the CPU
    experiment["resources"] = {"cpus_per_trial": 1, "gpus_per_trial": 0.5}
    result = _run_on(cluster, experiment, tmp_path, "--plugin", str(plugin))
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len(trials) == 4 and all(t["status"] == "completed" for t in trials)
    nodes = [t["node"] for t in trials]
    assert set(nodes) == set(worker_ids), "4 half-GPU trials must use both GPU nodes (the head has none)"
    assert all(t["gpus_assigned"] == 0.5 for t in trials)
    for node in worker_ids:  # the two trials of a node share its one GPU
        assert {t["gpu_ids"] for t in trials if t["node"] == node} == {"0"}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["nodes"] == 2
    assert summary["final"]["node"] in worker_ids, "the retrain is a Ray task with a trial's GPU share"
    assert summary["final"]["test_accuracy"] > 0.8, "the retrain built the plugin's model on the plugin's data"
    imported_from = {line.split()[1] for line in (tmp_path / "user-code" / "imports.log").read_text().splitlines()}
    assert str(plugin) in imported_from, "the driver imports the file itself"
    assert imported_from - {str(plugin)}, "the workers import the copy Ray shipped, not the driver's file"


def test_storage_seen_by_every_node_passes(cluster, tmp_path):
    cluster, _ = cluster
    ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
    try:
        assert len(storage_module.alive_nodes()) == 3
        storage_module.check_storage_visible(str(tmp_path / "shared"))
        assert not any((tmp_path / "shared").iterdir()), "the marker file is removed"
        storage_module.check_storage_visible("s3://bucket/prefix")  # URIs are Ray's to reach: not probed
    finally:
        ray.shutdown()


def test_storage_missing_on_a_node_is_a_clear_error(cluster, tmp_path, monkeypatch):
    cluster, worker_ids = cluster
    ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
    try:
        nodes = storage_module.alive_nodes()
        blind = worker_ids[0]
        # One node's view of the filesystem differs: its probe answers from a directory that is not shared.
        real_get = ray.get
        monkeypatch.setattr(
            ray, "get", lambda refs, **kw: [
                seen and node["NodeID"] != blind for node, seen in zip(nodes, real_get(refs, **kw))
            ] if isinstance(refs, list) else real_get(refs, **kw),
        )
        with pytest.raises(StorageError, match=r"not visible from 1 of the cluster's 3 nodes.*s3://"):
            storage_module.check_storage_visible(str(tmp_path / "local"))
    finally:
        monkeypatch.undo()
        ray.shutdown()


def test_losing_a_worker_node_mid_run_retries_its_trials_elsewhere(cluster, tiny_experiment, tmp_path):
    """Last in this module: it removes a node from the shared cluster."""
    cluster, _ = cluster
    experiment = tiny_experiment
    experiment["dataset"]["params"] = {"num_samples": 12000, "num_features": 32, "num_classes": 3}
    experiment["model"]["params"] = {"hidden": 256, "depth": 2}
    experiment["selection"] = {"strategy": "full"}
    experiment["training"].update(epochs=8, batch_size=32, device="auto")
    experiment["search"].update(num_trials=4, max_concurrent_trials=4, algorithm="random")
    experiment["search"]["space"] = {"training.lr": {"loguniform": [1.0e-3, 1.0e-2]}}
    experiment["search"]["asha"] = {"enabled": False}
    experiment["resources"] = {"cpus_per_trial": 1, "gpus_per_trial": 0.5}
    experiment["fault_tolerance"] = {"checkpoint_every": 1, "max_failures": 3}
    experiment["final"] = {"enabled": True, "epochs": 1}
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(experiment))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    log_file = tmp_path / "driver.log"
    with open(log_file, "w") as log:
        driver = subprocess.Popen(
            [sys.executable, "-m", "cords_tune.cli", "run", str(file), "--address", cluster.address,
             "--output", str(tmp_path / "runs")], stdout=log, stderr=log, env=env,
        )
    try:
        import time

        deadline = time.monotonic() + 300
        # Trials write checkpoints straight to the storage path: two of them checkpointed means mid-run.
        while len(list((tmp_path / "runs").glob("*/tune/*/checkpoint_000001"))) < 2:
            assert driver.poll() is None and time.monotonic() < deadline, log_file.read_text()[-2000:]
            time.sleep(0.1)
        victim = next(node for node in cluster.worker_nodes)
        cluster.remove_node(victim)
        assert driver.wait(timeout=400) == 0, log_file.read_text()[-3000:]
    finally:
        if driver.poll() is None:
            driver.kill()
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["trials_errored"] == 0 and summary["trials_retried"] >= 1
    trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert all(t["status"] == "completed" and t["epochs"] == 8 for t in trials)
    assert {t["node"] for t in trials} == {n.node_id for n in cluster.worker_nodes}, "all finished on the survivor"
