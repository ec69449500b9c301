"""A real Ray Tune run end to end on a tiny config: trials, ASHA, retrain, result files."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq
import pytest
import torch

from cords_tune.config import load_config, parse_config
from cords_tune.errors import ConfigError, RunFailedError
from cords_tune.reports import render_report, write_json_atomic
from cords_tune.results.trial import trials_table
from cords_tune.runs import run_experiment
from cords_tune.tuning.algorithms import decision_epochs
from cords_tune.results.summary import RunSummary
from cords_tune.results.trial import read_trials

pytestmark = pytest.mark.slow

SUMMARY_KEYS = {
    "name", "strategy", "fraction", "num_trials", "tuning_wall_s", "selection_s_total", "best_config",
    "best_val_accuracy", "final", "end_to_end_wall_s",
}


def test_tuning_run_end_to_end(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["search"]["num_trials"] = 4
    tiny_experiment["training"]["validation"] = "at_decisions"  # ASHA's rung (epoch 1) and the last (3)
    config = parse_config(tiny_experiment)
    snapshots = []
    result = run_experiment(config, output_dir=tmp_path / "out", on_progress=lambda p: snapshots.append(
        (p.phase, p.finished, p.best_value)))

    run_dir = result.run_dir
    assert run_dir.parent == (tmp_path / "out").resolve()
    for name in ("summary.json", "trials.parquet", "best_config.yaml", "report.md", "config.yaml"):
        assert (run_dir / name).is_file(), name

    summary = json.loads((run_dir / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["num_trials"] == 4 and summary["trials_errored"] == 0
    assert summary["final"]["test_accuracy"] > 0.6  # 3 classes: chance is 0.33
    assert summary["final"]["epochs"] == config.training.epochs
    assert summary["tuning_wall_s"] < summary["end_to_end_wall_s"]
    used = summary["slot_use"]  # both CPUs' trials started together and every slot-second is accounted for
    assert used["slots"] == 2 and used["slot_s"] == pytest.approx(2 * summary["tuning_wall_s"])
    work = summary["selection_s_total"] + summary["train_s_total"] + summary["eval_s_total"]
    assert used["work_s"] == pytest.approx(work)
    assert used["starting_s"] > 0 and used["building_s"] > 0 and 0 < used["overhead_share"] < 1
    parts = ("work_s", "starting_s", "building_s", "reporting_s", "between_trials_s", "idle_s")
    assert sum(used[key] for key in parts) == pytest.approx(used["slot_s"], rel=0.02)
    assert set(summary["best_config"]) == {"training.lr", "model.params.hidden"}

    table = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len(table) == 4
    assert {row["status"] for row in table} <= {"completed", "stopped"}
    for row in table:
        assert 1 <= row["epochs"] <= config.training.epochs
        assert 1e-3 <= row["param.training.lr"] <= 1e-1 and row["param.model.params.hidden"] in (16, 32)
        assert row["best_metric"] >= row["last_metric"] or math.isclose(row["best_metric"], row["last_metric"])
        assert row["train_s"] > 0 and row["samples_seen"] > 0
    picked = next(r for r in table if r["trial_id"] == summary["best_trial_id"])
    assert summary["best_val_accuracy"] == pytest.approx(picked["best_metric"])

    # The typed results are the files: read back, they are what the run returned and render the same report.
    assert RunSummary.from_json(summary).to_json() == summary
    written = tmp_path / "again.json"
    write_json_atomic(written, result.summary.to_json())
    assert json.loads(written.read_text()) == summary
    trials = read_trials(run_dir / "trials.parquet")
    assert [t.trial_id for t in trials] == [t.trial_id for t in result.trials]
    assert trials_table(trials).equals(pq.read_table(run_dir / "trials.parquet"))
    assert render_report(RunSummary.from_json(summary), trials) == (run_dir / "report.md").read_text()

    for result in (run_dir / "tune").glob("*/result.json"):  # each epoch as the trial reported it to Tune
        epochs = [json.loads(line) for line in result.read_text().splitlines()]
        assert [e["evaluated"] for e in epochs] == [e["epoch"] in decision_epochs(config) for e in epochs]
        assert all(e["eval_s"] == 0 for e in epochs if not e["evaluated"])
        if len(epochs) > 1:  # epoch 2 repeats epoch 1's measurement
            assert epochs[1]["val_accuracy"] == epochs[0]["val_accuracy"]
    assert decision_epochs(config) == {1, 3}

    rerun = load_config(run_dir / "best_config.yaml")  # a runnable experiment with the best values
    assert rerun.training.lr == pytest.approx(summary["best_config"]["training.lr"])
    assert rerun.search.space == {} and rerun.search.num_trials == 1

    # The default final.top_k: the subset search's best two, each trained on the full data
    assert [f["rank"] for f in summary["finalists"]] == [1, 2]
    assert summary["best_trial_id"] == next(f["trial_id"] for f in summary["finalists"] if f["picked"])
    phases = [phase for phase, _, _ in snapshots]
    assert any(phase.startswith("training the top 2 configs on the full data (finalists, raced: the weaker stop at "
                                "epoch ") for phase in phases), phases
    done = [phase for phase in phases if phase.startswith("finalist ") and ": epoch " not in phase]
    assert len(done) == 2 and snapshots[-1][1] == 4
    trained = {f["rank"]: f["stopped_at"] or config.final_epochs for f in summary["finalists"]}  # the race's stop
    assert sorted(trained.values()) == [summary["race"]["rungs"][0]["epoch"], config.final_epochs]
    assert sorted(phase.split(",")[0] for phase in phases if ": epoch " in phase) == sorted(
        f"finalist {rank} on the full data: epoch {epoch}/{config.final_epochs}" for rank in (1, 2)
        for epoch in range(1, trained[rank] + 1)), "each finalist's epochs, once"
    assert "final test accuracy" in (run_dir / "report.md").read_text()
    assert "2 slots, " in (run_dir / "report.md").read_text()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA for the trials to fail")
def test_a_run_whose_trials_all_fail_says_so_and_keeps_the_trials(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["training"]["device"] = "cuda"  # valid config; the logical GPU is no CUDA device here
    tiny_experiment["resources"] = {"cpus_per_trial": 1, "gpus_per_trial": 1}
    tiny_experiment["search"]["num_trials"] = 2
    tiny_experiment["fault_tolerance"] = {"max_failures": 0}
    with pytest.raises(RunFailedError, match="all 2 trials failed or diverged.*no CUDA GPU"):
        run_experiment(parse_config(tiny_experiment), output_dir=tmp_path)
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["trials_errored"] == 2
    assert all(row["status"] == "error" for row in pq.read_table(run_dir / "trials.parquet").to_pylist())


def test_a_budget_below_the_number_of_classes_stops_before_ray(tiny_experiment, tmp_path, monkeypatch):
    import ray

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray must not start for a bad config"))
    tiny_experiment["selection"]["fraction"] = 0.002  # 1 sample of ~430, 3 classes
    with pytest.raises(ConfigError, match=r"selection.fraction: .*fewer than the 3 classes"):
        run_experiment(parse_config(tiny_experiment), output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sequential_runs_with_one_seed_are_reproducible(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["search"].update(num_trials=3, max_concurrent_trials=1)
    tiny_experiment["final"] = {"enabled": False}
    config = parse_config(tiny_experiment)
    runs = [run_experiment(config, output_dir=tmp_path / str(i)).trials for i in range(2)]
    assert [t.params for t in runs[0]] == [t.params for t in runs[1]]
    assert [t.best_metric for t in runs[0]] == [t.best_metric for t in runs[1]]
    assert [t.epochs for t in runs[0]] == [t.epochs for t in runs[1]]
    other_seed = run_experiment(parse_config({**tiny_experiment, "seed": 1}), output_dir=tmp_path / "other").trials
    assert [t.params for t in other_seed] != [t.params for t in runs[0]]


@pytest.mark.parametrize(
    ("warm", "grace", "searched", "expected"),
    [(0, 2, None, 2), (3, 2, None, 4), (3, 5, None, 5), (0, 2, [0, 4], 5), (10, 2, None, 3)],
)
def test_asha_first_rung_comes_after_the_warm_start(tiny_experiment, warm, grace, searched, expected):
    from cords_tune.tuning.algorithms import asha_grace_period

    tiny_experiment["training"]["epochs"] = 3 if warm == 10 else 20
    tiny_experiment["selection"]["warm_start_epochs"] = warm
    tiny_experiment["search"]["asha"]["grace_period"] = grace
    if searched:
        tiny_experiment["search"]["space"]["selection.warm_start_epochs"] = {"int": searched}
    assert asha_grace_period(parse_config(tiny_experiment)) == expected


def test_trials_that_fall_back_to_random_are_counted_dated_and_reported(local_ray, tiny_experiment, tmp_path):
    # Any gradient-based selection costs more than a share this small of the trial, and no floor keeps it: every
    # trial falls back where it would first select by gradients (epoch 2; epoch 1's subset is random anyway).
    tiny_experiment["selection"] = {"strategy": "gradmatch", "fraction": 0.3, "every": 1, "max_cost_share": 1.0e-9,
                                    "min_cost_s": 0.0}
    tiny_experiment["training"]["epochs"] = 4
    tiny_experiment["search"].update(num_trials=2, max_concurrent_trials=1)
    tiny_experiment["search"]["asha"] = {"enabled": False}
    snapshots = []
    result = run_experiment(parse_config(tiny_experiment), output_dir=tmp_path, on_progress=snapshots.append)
    summary = result.summary
    assert summary.trials_selection_fallback == 2
    assert summary.selection_fallback_epochs == [2, 2]  # decided from the measured costs, before any selection
    assert summary.best_trial_selection_fallback_epoch == 2
    assert all(0.0 < t.selection_share_at_fallback <= 1.0 for t in result.trials)  # the forecast share
    assert json.loads((result.run_dir / "selection_cost.json").read_text())["selection_s"] > 0  # kept for a resume
    assert snapshots[-1].fell_back == 2
    report = (result.run_dir / "report.md").read_text()
    assert "2 trials of 2 fell back from gradmatch to random subsets (at epochs 2, 2)" in report
    assert "random from epoch 2" in report
    rows = pq.read_table(result.run_dir / "trials.parquet").to_pylist()
    assert [r["selection_fallback_epoch"] for r in rows] == [2, 2]
