"""`baseline`: the same search on the full data in the same invocation, compared with the subset search. A
baseline that resume adds to a finished run is in tests/runs/test_phases.py."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch

from cords_tune.config import apply_params, parse_config
from cords_tune.errors import ConfigError
from cords_tune.preflight import load_and_check
from cords_tune.runs import full_data_variant
from cords_tune.tuning.retrain import retrain_best
from cords_tune.tuning.algorithms import asha_grace_period

COMPARISON_KEYS = {
    "tuning_wall_s_subset", "tuning_wall_s_full", "tuning_speedup", "end_to_end_wall_s_subset",
    "end_to_end_speedup", "test_accuracy_subset", "test_accuracy_full", "accuracy_delta", "best_config_subset",
    "best_config_full",
}


@pytest.mark.slow
def test_baseline_tunes_on_the_full_data_and_tests_its_best_trial_as_trained(compared_run):
    config, run_dir, phases = compared_run.config, compared_run.run_dir, compared_run.phases

    comparison = json.loads((run_dir / "comparison.json").read_text())
    assert COMPARISON_KEYS <= set(comparison)
    assert (run_dir / "comparison.png").read_bytes().startswith(b"\x89PNG")
    summary = json.loads((run_dir / "summary.json").read_text())
    baseline = json.loads((run_dir / "baseline" / "summary.json").read_text())
    assert baseline["strategy"] == "full" and baseline["num_trials"] == summary["num_trials"] == 3
    assert comparison["tuning_wall_s_subset"] == pytest.approx(summary["tuning_wall_s"])
    assert comparison["tuning_wall_s_full"] == pytest.approx(baseline["tuning_wall_s"])
    assert comparison["tuning_speedup"] == pytest.approx(baseline["tuning_wall_s"] / summary["tuning_wall_s"])
    assert comparison["test_accuracy_subset"] == summary["final"]["test_accuracy"]
    assert comparison["accuracy_delta"] == pytest.approx(
        comparison["test_accuracy_subset"] - comparison["test_accuracy_full"])
    assert "selection.fraction" in comparison["best_config_subset"]
    assert "selection.fraction" not in comparison["best_config_full"]
    assert any(p.startswith("baseline") for p in phases)
    assert "## Compared with tuning on the full data" in (run_dir / "report.md").read_text()

    n_train = len(load_and_check(config).y_train)
    for trial in pq.read_table(run_dir / "baseline" / "trials.parquet").to_pylist():
        assert trial["samples_seen"] == trial["epochs"] * n_train  # every epoch on all the training data
    subset_trials = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert all(t["samples_seen"] < t["epochs"] * n_train for t in subset_trials)

    # The full-data side's test accuracy is its best trial's own model: training that config again on the full
    # data with the same seed (what the trial did) gives the same accuracy, without a retrain having run.
    assert comparison["full_best_trial_retrained"] is False
    best_full = apply_params(full_data_variant(config), comparison["best_config_full"])
    threads = torch.get_num_threads()
    try:
        again = retrain_best(best_full, load_and_check(config))
    finally:
        torch.set_num_threads(threads)
    assert again.test_accuracy == pytest.approx(comparison["test_accuracy_full"])


def test_full_data_variant_keeps_the_search_and_drops_subset_parameters(tiny_experiment):
    tiny_experiment["selection"].update(strategy="gradmatch", warm_start_epochs=1, params={"partition": "class"})
    tiny_experiment["search"]["space"]["selection.fraction"] = {"uniform": [0.2, 0.4]}
    tiny_experiment["search"]["asha"] = {"grace_period": 1, "reduction_factor": 2}
    config = parse_config(tiny_experiment)
    full = full_data_variant(config)
    assert full.selection.strategy == "full" and full.selection.params == {}
    assert set(full.search.space) == {"training.lr", "model.params.hidden"}
    assert full.search.space["training.lr"] == config.search.space["training.lr"]
    assert (full.search.num_trials, full.search.algorithm, full.seed) == (3, config.search.algorithm, 0)
    assert full.search.asha.reduction_factor == 2
    assert full.search.asha.grace_period == asha_grace_period(config) == 2  # past the subset search's warm start
    assert full.resources == config.resources and not full.baseline


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"selection": {"strategy": "full"}}, "already 'full'"),
        ({"final": {"enabled": False}}, "final.enabled is false"),
    ],
)
def test_a_baseline_that_cannot_compare_is_refused(tiny_experiment, change, message):
    tiny_experiment.update(baseline=True, **change)
    with pytest.raises(ConfigError, match=message) as error:
        parse_config(tiny_experiment)
    assert error.value.path == "baseline"
