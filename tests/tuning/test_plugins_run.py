"""A plugin's dataset and model in a real run: the trials and the retrain import the plugin on their Ray
workers, and the saved model loads in a process that never imported it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import ray

from cords_tune.config import parse_config
from cords_tune.errors import UnknownNameError
from cords_tune.runs import run_experiment
from tests.plugin_samples import plugin_experiment, write_plugin

pytestmark = pytest.mark.slow


def test_trials_and_retrain_use_the_plugin(local_ray, tmp_path):
    plugin = write_plugin(tmp_path / "mine", "inproc")
    experiment = plugin_experiment("inproc", str(plugin), tmp_path)
    experiment["final"]["compress"] = {"dynamic_int8": True, "prune": [0.5]}
    config = parse_config(experiment)
    notices: list[str] = []
    result = run_experiment(config, on_notice=notices.append)

    assert result.summary.trials_errored == 0 and result.summary.num_trials == 2
    assert result.summary.final.test_accuracy > 0.8  # separable blobs, 2 classes
    importers = {int(line.split()[0]) for line in (tmp_path / "mine" / "imports.log").read_text().splitlines()}
    assert importers - {os.getpid()}, "the Ray workers imported the plugin themselves"
    assert any("started before this run" in n for n in notices), "a Ray started earlier is not given the plugin"

    rows = {row.name: row for row in result.summary.compression.variants}
    assert set(rows) == {"fp32", "dynamic_int8", "pruned_50"}
    assert rows["pruned_50"].zero_fraction >= 0.5

    predict = (  # a fresh process: loading imports the plugin the model came from
        "import sys, cords_tune, numpy as np\n"
        "x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)\n"
        "print([cords_tune.load_model(path).predict(x).tolist() for path in sys.argv[1:]])\n"
    )
    files = [result.run_dir / "model.pt", result.run_dir / "compressed" / "dynamic_int8.pt"]
    done = subprocess.run([sys.executable, "-c", predict, *map(str, files)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    fp32, int8 = json.loads(done.stdout)
    assert len(fp32) == len(int8) == 5


def test_a_workers_config_error_reaches_the_driver_as_itself(local_ray):
    @ray.remote(num_cpus=0)
    def check() -> None:
        raise UnknownNameError("dataset", "bc", ["digits", "mnist1d"], path="dataset.name")

    with pytest.raises(UnknownNameError, match="unknown dataset 'bc'"):
        ray.get(check.remote())
