"""A shared strategy in a real tuning run: one proxy task chooses the subset before the trials, every trial
trains on it and selects nothing, the cost counts in the search's wall-clock and in the speedups, and rank
fidelity uses it too."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from cords_tune.config import parse_config
from cords_tune.errors import RunFailedError
from cords_tune.training.proxy import SHARED_SUBSET_FILE, SharedSubset
from cords_tune.runs import run_experiment
from cords_tune.runs.fidelity import measure_fidelity

pytestmark = pytest.mark.slow


def _shared(tiny_experiment, strategy: str = "el2n"):
    tiny_experiment["selection"] = {"strategy": strategy, "fraction": 0.2, "every": 1, "proxy": {"epochs": 2}}
    return tiny_experiment


def test_every_trial_trains_on_the_one_subset_the_proxy_chose(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["search"]["num_trials"] = 2  # each search one round of the two CPUs' trials
    config = parse_config({**_shared(tiny_experiment), "baseline": True})
    result = run_experiment(config, output_dir=tmp_path / "out")
    run_dir, summary = result.run_dir, result.summary

    kept = SharedSubset.load(run_dir / SHARED_SUBSET_FILE)
    assert summary.shared_subset == kept.record
    assert summary.shared_subset.size == len(kept.indices[0]) > 0
    assert summary.shared_subset.rounds == len(kept.indices) == 3  # 3 epochs, every 1
    assert summary.selection_s_total < 0.01, "a trial pays nothing for selection"
    timings = summary.timings
    assert timings.shared_subset_s == pytest.approx(kept.record.wall_s)
    assert 0 < kept.record.wall_s < timings.tuning_wall_s  # the proxy task ran inside the search
    for trial in pq.read_table(run_dir / "trials.parquet").to_pylist():
        assert trial["samples_seen"] == trial["epochs"] * len(kept.indices[0])
    comparison = result.comparison
    assert comparison.tuning_wall_s_subset == pytest.approx(timings.tuning_wall_s)  # the proxy counted
    report = (run_dir / "report.md").read_text()
    assert f"3 rounds of {len(kept.indices[0])} samples" in report


def test_fidelity_trains_every_configuration_on_the_shared_subset(local_ray, tiny_experiment, tmp_path):
    config = parse_config(_shared(tiny_experiment, "kcenter"))
    result = measure_fidelity(config, 2, output_dir=tmp_path / "out")
    shared = result.fidelity.shared_subset
    assert shared.strategy == "kcenter" and shared.size > 0
    assert len(SharedSubset.load(result.run_dir / SHARED_SUBSET_FILE).indices[0]) == shared.size
    assert result.fidelity.train_s_subset > shared.wall_s
    assert json.loads((result.run_dir / "fidelity.json").read_text())["shared_subset"] == shared.as_dict()


FAILING_STRATEGY = '''
from cords_tune.selection import STRATEGIES
from cords_tune.selection.static import StaticStrategy


@STRATEGIES.register("failing_shared")
class FailingShared(StaticStrategy):
    """Fails to select: a shared strategy with a bug."""

    name = "failing_shared"

    def select(self, context, budget):
        raise RuntimeError("no subset today")
'''


def test_a_failed_proxy_ends_the_search_with_its_error(local_ray, tiny_experiment, tmp_path, monkeypatch):
    from cords_tune.selection import STRATEGIES

    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))  # the plugin's entry leaves with the test
    plugin = tmp_path / "failing_plugin.py"
    plugin.write_text(FAILING_STRATEGY)
    raw = {**_shared(tiny_experiment, "failing_shared"), "plugins": [str(plugin)]}
    raw["search"]["num_trials"] = 12
    with pytest.raises(RunFailedError, match="choosing the shared subsets .* failed: .*no subset today"):
        run_experiment(parse_config(raw), output_dir=tmp_path / "out")
