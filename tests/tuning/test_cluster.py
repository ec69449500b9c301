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

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized(), "this module needs its own cluster; run it before in-process Ray tests"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0})
    workers = [cluster.add_node(num_cpus=2, num_gpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, [w.node_id for w in workers]
    cluster.shutdown()


def test_trials_spread_over_gpu_nodes_with_half_a_gpu_each(cluster, tiny_experiment, tmp_path):
    cluster, worker_ids = cluster
    tiny_experiment["search"].update(num_trials=4, max_concurrent_trials=4)
    tiny_experiment["search"]["asha"]["enabled"] = False
    tiny_experiment["training"]["epochs"] = 2
    tiny_experiment["training"]["device"] = "auto"  # logical GPUs: no CUDA here, trials fall back to the CPU
    tiny_experiment["resources"] = {"cpus_per_trial": 1, "gpus_per_trial": 0.5}
    file = tmp_path / "experiment.yaml"
    file.write_text(yaml.safe_dump(tiny_experiment))

    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    result = subprocess.run(
        [sys.executable, "-m", "cords_tune.cli", "run", str(file), "--address", cluster.address,
         "--output", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=480, env=env,
    )
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
