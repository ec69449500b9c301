"""A finalist's full-data training over two data-parallel workers (Ray Train, gloo): its outcome reads like a
one-worker job's, it trains the same model, it continues a one-worker segment, and Ctrl-C takes it down."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import TINY_EXPERIMENT
from cords_tune.config import parse_config
from cords_tune.final_model import load_model
from cords_tune.preflight import load_and_check
from cords_tune.training.distributed import Shard, shard_order, usable_workers
from cords_tune.training.job import JobOutcome, TrainingJob
from cords_tune.tuning.data_parallel import submit_data_parallel
from cords_tune.tuning.retrain import retrain_job
from cords_tune.tuning.worker import run_on_cluster, submit

EPOCHS = 3


def _config(folder: Path, seed: int, epochs: int = EPOCHS):
    return parse_config(_experiment(folder, seed, epochs))


def _experiment(folder: Path, seed: int, epochs: int) -> dict[str, Any]:
    experiment = copy.deepcopy(TINY_EXPERIMENT)
    experiment["dataset"]["data_dir"] = str(folder / "data")
    experiment["output_dir"] = str(folder / "results")
    experiment["seed"] = seed
    experiment["training"]["epochs"] = epochs
    experiment["final"] = {"epochs": epochs}
    return experiment


@dataclass(frozen=True)
class Trained:
    config: Any
    data: Any
    one: JobOutcome  # one worker, from scratch
    two: JobOutcome  # two workers, from scratch (seed 0), or from the one-worker run's first epoch (seed 1)


@pytest.fixture(scope="module")
def trained(local_ray, tmp_path_factory) -> dict[int, Trained]:
    """Per seed, the full-data training on one worker and on two. Seed 1's two-worker run continues a one-worker
    segment of one epoch (the state a race hands its winner)."""
    runs = {}
    for seed in (0, 1):
        config = _config(tmp_path_factory.mktemp(f"seed{seed}"), seed)
        data = load_and_check(config)
        data_ref = local_ray.put(data)
        job = replace(retrain_job(config, data_ref), keep_state=True)
        one = run_on_cluster(job)
        if seed == 0:
            two = run_on_cluster(replace(job, workers=2))
        else:
            segment = run_on_cluster(replace(job, until_epoch=1, keep_model=False, evaluate=()))
            assert segment.epochs == 1 and segment.state is not None
            two = run_on_cluster(replace(job, workers=2, start_state=local_ray.put(segment.state)))
        runs[seed] = Trained(config, data, one, two)
    return runs


def test_each_rank_takes_its_share_of_every_global_batch_and_all_take_as_many_steps():
    order = torch.randperm(103, generator=torch.Generator().manual_seed(0))
    weights = order.float()
    shares = [shard_order(order, weights, 8, Shard(rank, 3)) for rank in range(3)]
    steps = [list(indices.split(8)) for indices, _ in shares]
    assert len({len(s) for s in steps}) == 1  # as many backward passes on every rank
    # Step by step, the ranks' batches put together are the one-worker order's global batch of 24.
    together = torch.cat([torch.cat([s[step] for s in steps]) for step in range(len(steps[0]))])
    assert torch.equal(together, order[:102])  # 103 cut to a multiple of 3
    assert all(torch.equal(indices.float(), w) for indices, w in shares)  # the weights follow their samples
    assert usable_workers(64, 3) == 2 and usable_workers(96, 4) == 4 and usable_workers(7, 4) == 1


def test_a_data_parallel_outcome_reads_like_a_one_worker_outcome(trained):
    run = trained[0]
    one, two = run.one, run.two
    assert two.epochs == one.epochs == EPOCHS and [s.epoch for s in two.history] == [1, 2, 3]
    assert two.history[-1].samples_seen == one.history[-1].samples_seen  # the ranks' samples summed
    assert two.model is not None and two.model.info["epochs"] == EPOCHS and two.model.info["retrained"]
    assert not any(key.startswith("module.") for key in two.model.state_dict)  # the plain model's weights
    assert two.state is not None and two.state["epoch"] == EPOCHS and "model" in two.state
    assert not any(key.startswith("module.") for key in two.state["model"])
    assert set(two.scores) == {"test"} and two.node != "local"
    assert two.energy.joules > one.energy.joules  # two workers' energy summed over a longer wall-clock
    assert two.wall_s > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_two_workers_train_the_model_one_worker_trains(trained, seed):
    """Each step of two ranks averages the gradients of the halves of the same global batch: the same step as one
    worker's, up to the order of float additions. So the losses agree closely epoch by epoch, and the test
    accuracy within two samples of the 120 (rounding can flip a borderline prediction)."""
    run = trained[seed]
    one, two = run.one, run.two
    later = [s for s in one.history if s.epoch in {s2.epoch for s2 in two.history}]
    assert len(later) == len(two.history) == (EPOCHS if seed == 0 else EPOCHS - 1)
    np.testing.assert_allclose([s.train_loss for s in two.history], [s.train_loss for s in later], rtol=1e-3)
    np.testing.assert_allclose([s.val_loss for s in two.history], [s.val_loss for s in later], rtol=1e-3)
    tested = len(run.data.y_test)
    assert abs(two.scores["test"].accuracy - one.scores["test"].accuracy) <= 2 / tested


def test_the_data_parallel_model_saves_loads_and_predicts(trained, tmp_path):
    run = trained[0]
    path = run.two.model.save(tmp_path / "model.pt")
    labels = load_model(path).predict(run.data.x_test)
    accuracy = float((labels == run.data.y_test).sum()) / len(labels)
    assert accuracy == pytest.approx(run.two.scores["test"].accuracy, abs=2 / len(labels))


def test_a_trial_job_or_an_uneven_batch_is_refused_before_anything_starts(tmp_path):
    config = _config(tmp_path, 0)
    with pytest.raises(ValueError, match="full_data=True"):
        submit(TrainingJob(config, data=None, workers=2))
    with pytest.raises(ValueError, match="multiple of the 3 workers. Got 32; use 2 workers"):
        submit(TrainingJob(config, data=None, workers=3, full_data=True))


_INTERRUPTED_DRIVER = """
import sys
from dataclasses import replace
import ray
from cords_tune.config import parse_config
from cords_tune.preflight import load_and_check
from cords_tune.training.job import JobHooks
from cords_tune.tuning.retrain import retrain_job
from cords_tune.tuning.worker import run_on_cluster

class Marked(JobHooks):  # on rank 0's worker: the file named here, not that worker's argv
    def __init__(self, path):
        self.path = path

    def on_epoch(self, stats, job):
        open(self.path, "a").write(f"{stats.epoch}\\n")

ray.init(address=sys.argv[1], log_to_driver=False)
config = parse_config({config!r})
job = retrain_job(config, ray.put(load_and_check(config)), hooks=Marked(sys.argv[2]))
run_on_cluster(replace(job, workers=2))
"""


@pytest.mark.own_cluster  # a Ray of its own, ended with the test: nothing an interrupted training leaves behind
@pytest.mark.xfail(strict=False, reason="known bug, open on issue 30: in the full suite the driver has twice not "
                   "exited within 60 s of the Ctrl-C (alone it does, in about 1 s); final.workers > 1 is not a default")
def test_ctrl_c_takes_a_data_parallel_training_down_and_the_next_one_runs(tmp_path):
    """A driver that joined the cluster is interrupted in an epoch of a long data-parallel training: it exits, the
    ranks give their CPUs back, and a data-parallel training after it completes."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    local_ray = ray
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        script = tmp_path / "driver.py"
        script.write_text(_INTERRUPTED_DRIVER.replace("{config!r}", repr(_experiment(tmp_path, 0, 10_000))))
        marks, log = tmp_path / "epochs.txt", tmp_path / "driver.log"
        address = local_ray.get_runtime_context().gcs_address
        with open(log, "w") as output:
            driver = subprocess.Popen([sys.executable, str(script), address, str(marks)], stdout=output, stderr=output,
                                      env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}, start_new_session=True)
        try:
            deadline = time.monotonic() + 600  # Ray Train's start: minutes on a loaded machine
            while not (marks.exists() and marks.read_text().strip()):
                assert driver.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
            driver.send_signal(signal.SIGINT)
            assert driver.wait(timeout=60) != 0
            assert "KeyboardInterrupt" in log.read_text()
        finally:
            if driver.poll() is None:
                driver.kill()
        deadline = time.monotonic() + 60
        while local_ray.available_resources().get("CPU", 0) < 2:  # the two ranks' CPUs back
            assert time.monotonic() < deadline, local_ray.available_resources()
            time.sleep(0.5)
        short = _config(tmp_path, 0, epochs=1)
        job = replace(retrain_job(short, local_ray.put(load_and_check(short))), workers=2)
        outcome = local_ray.get(submit_data_parallel(job, storage=tmp_path / "storage"))
        assert outcome.epochs == 1 and outcome.model is not None
    finally:
        ray.shutdown()
        cluster.shutdown()
