"""Finalists: the subset search's top-k configurations trained on the full data, the best full-data
validation score wins (ranking and picking on their own; real Ray tasks; a real run end to end)."""

from __future__ import annotations

import json
import math

import pytest

from conftest import saved_model_accuracy
from cords_tune.config import load_config, parse_config
from cords_tune.errors import ConfigError
from cords_tune.preflight import load_and_check
from cords_tune.runs import run_experiment
from cords_tune.reports.wording import finalists_note
from cords_tune.results.finalist import FinalistRecord
from cords_tune.tuning.finalists import Finalist, Settled, pick_winner, rank_trials
from cords_tune.tuning.race import settle_finalists
from cords_tune.results.summary import RunSummary
from cords_tune.results.trial import TrialRecord
from cords_tune.results.final import FinalResult


def trial(index, metric, **params):
    return TrialRecord.from_json({"index": index, "trial_id": f"t{index}", "best_metric": metric,
                                  "params": params or {"lr": index}})


def finalist(rank, val_accuracy, val_loss=0.5, metric="val_accuracy", mode="max", epochs=3, failed=False):
    config = parse_config({"search": {"metric": metric, "mode": mode}, "training": {"epochs": 3}})
    result = FinalResult(test_accuracy=0.9, test_loss=0.3, val_accuracy=val_accuracy, val_loss=val_loss,
                         epochs=epochs, wall_s=1.0, train_s=0.9, node="local")
    return Finalist(rank, trial(rank, 0.5), config, None if failed else result, done_after_s=float(rank),
                    error="worker died" if failed else None)


def test_trials_are_ranked_by_their_subset_score_one_per_configuration():
    trials = [trial(0, 0.7, lr=1), trial(1, 0.9, lr=2), trial(2, 0.9, lr=3), trial(3, 0.8, lr=2)]
    assert [t.index for t in rank_trials(trials, "max")] == [1, 2, 0]  # tie: the earlier; lr=2 once
    assert [t.index for t in rank_trials(trials, "min")] == [0, 3, 2]  # lr=2 by its better trial, 3


def test_the_best_full_data_score_wins_and_a_tie_goes_to_the_better_subset_rank():
    assert pick_winner([finalist(1, 0.80), finalist(2, 0.85), finalist(3, 0.82)], "max").rank == 2
    assert pick_winner([finalist(1, 0.85), finalist(2, 0.85)], "max").rank == 1
    losses = [finalist(r, 0.8, val_loss=v, metric="val_loss", mode="min") for r, v in ((1, 0.4), (2, 0.3))]
    assert pick_winner(losses, "min").rank == 2


def test_a_finalist_that_diverged_or_failed_on_the_full_data_never_wins():
    assert pick_winner([finalist(1, math.nan), finalist(2, 0.1)], "max").rank == 2
    losses = [finalist(r, 0.8, val_loss=v, metric="val_loss", mode="min") for r, v in ((1, math.inf), (2, 9.0))]
    assert pick_winner(losses, "min").rank == 2
    stopped_early = finalist(1, 0.9, epochs=2)  # the trainer ends a training whose loss is not finite
    assert stopped_early.diverged and math.isnan(stopped_early.score())
    assert pick_winner([stopped_early, finalist(2, 0.3)], "max").rank == 2
    assert pick_winner([finalist(1, 0.9, failed=True), finalist(2, 0.3)], "max").rank == 2
    assert pick_winner([finalist(1, 0.9, epochs=1), finalist(2, 0.9, epochs=2)], "max").rank == 1  # all diverged


def test_a_failed_or_diverged_finalist_is_reported_as_such():
    settled = Settled([finalist(1, 0.9, failed=True), finalist(2, 0.8, epochs=1), finalist(3, 0.7)], winner_rank=3)
    rows = settled.records()
    assert rows[0].error == "worker died" and rows[0].test_accuracy is None and not rows[0].picked
    assert rows[1].diverged and math.isnan(rows[1].full_data_score)
    assert rows[2].picked and settled.changed_pick
    assert [FinalistRecord.from_dict(row.as_dict()) for row in rows[:1]] == rows[:1]  # NaN aside, as summary.json
    summary = RunSummary.from_json({"metric": "val_accuracy", "finalists": [row.as_dict() for row in rows],
                                    "subset_best_trial_id": "t1"})
    assert finalists_note(summary).endswith("left out: finalist 1 (worker died), 2 (diverged)")
    assert "ranked 3 on subsets (t3)" in finalists_note(summary)


def test_top_k_is_at_least_one():
    with pytest.raises(ConfigError, match="final.top_k"):
        parse_config({"final": {"top_k": 0}})


@pytest.mark.slow
def test_finalists_train_as_ray_tasks_and_the_full_data_overrules_the_subset_ranking(local_ray, tiny_experiment):
    tiny_experiment["training"]["epochs"] = 4
    tiny_experiment["final"] = {"rungs": []}  # no race: each trains to the end (tests/tuning/test_race.py races)
    config = parse_config(tiny_experiment)
    data_ref = local_ray.put(load_and_check(config))
    ranked = [  # as a subset search might rank them: a learning rate too small to learn anything first
        trial(0, 0.9, **{"training.lr": 1e-6, "model.params.hidden": 16}),
        trial(1, 0.8, **{"training.lr": 0.03, "model.params.hidden": 32}),
        trial(2, 0.7, **{"training.lr": 0.01, "model.params.hidden": 16}),
    ]
    seen = []
    settled = settle_finalists(config, ranked, data_ref, 2, on_done=lambda f, left: seen.append((f.rank, left)))

    assert [f.rank for f in settled.finalists] == [1, 2]  # the third is not trained
    assert {rank for rank, _ in seen} == {1, 2} and sorted(left for _, left in seen) == [0, 1]
    assert settled.winner.rank == 2 and settled.changed_pick
    assert settled.winner.config.training.lr == pytest.approx(0.03)
    assert settled.finalists[1].result.val_accuracy > settled.finalists[0].result.val_accuracy + 0.2
    assert all(f.result.epochs == 4 and f.result.model is not None and f.done_after_s > 0 for f in settled.finalists)
    rows = settled.records()
    assert [r.picked for r in rows] == [False, True]
    assert rows[1].full_data_score == settled.finalists[1].result.val_accuracy


@pytest.mark.slow
def test_a_finalist_whose_training_fails_is_recorded_and_the_others_decide(local_ray, tiny_experiment):
    config = parse_config(tiny_experiment)
    data_ref = local_ray.put(load_and_check(config))
    # A GPU the worker's CUDA cannot see (the test Ray has one logical GPU): this finalist's task fails there.
    broken = trial(0, 0.9, **{"training.device": "cuda", "resources.gpus_per_trial": 1, "training.lr": 0.01})
    ranked = [broken, trial(1, 0.8, **{"training.lr": 0.03, "model.params.hidden": 32})]
    settled = settle_finalists(config, ranked, data_ref, 2)
    first, second = settled.finalists
    assert first.result is None and "CUDA" in first.error
    assert settled.winner is second and second.result.model is not None


@pytest.mark.slow
def test_a_run_returns_the_finalist_with_the_best_full_data_score(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["search"]["num_trials"] = 3
    tiny_experiment["final"] = {"top_k": 3}
    config = parse_config(tiny_experiment)
    phases = []
    result = run_experiment(config, output_dir=tmp_path, on_progress=lambda p: phases.append(p.phase))
    summary = json.loads((result.run_dir / "summary.json").read_text())

    finalists = summary["finalists"]
    assert [f["rank"] for f in finalists] == [1, 2, 3]
    picked = [f for f in finalists if f["picked"]]
    # the race (3 epochs, reduction factor 3): the two weaker at the first epoch stop there
    assert sorted(f["stopped_at"] or 0 for f in finalists) == [0, 1, 1] and picked[0]["stopped_at"] is None
    assert len(picked) == 1 and picked[0]["epochs"] == 3 and picked[0]["test_accuracy"] is not None
    rung = summary["race"]["rungs"][0] if summary.get("race") else None
    if rung is not None:  # summary.json's race record
        assert rung["epoch"] == 1 and rung["kept"] == [picked[0]["rank"]]
    assert "training the top 3 configs on the full data (finalists, raced: the weaker stop at epoch 1 of 3)" in phases
    stops = [p for p in phases if " stopped at epoch 1 (val_accuracy " in p]
    assert sorted(p.split()[1] for p in stops) == sorted(str(f["rank"]) for f in finalists if f["stopped_at"])
    (picked,) = picked
    assert summary["best_trial_id"] == picked["trial_id"] and summary["best_config"] == picked["params"]
    assert summary["final"]["test_accuracy"] == picked["test_accuracy"]
    assert summary["final"]["val_accuracy"] == picked["full_data_score"]
    subset_best = max(result.trials, key=lambda t: (t.best_metric, -t.index))
    assert summary["subset_best_trial_id"] == subset_best.trial_id == finalists[0]["trial_id"]
    assert result.summary.to_json() == summary and RunSummary.from_json(summary) == result.summary
    assert [f["subset_score"] for f in finalists] == sorted((f["subset_score"] for f in finalists), reverse=True)

    best_config = load_config(result.run_dir / "best_config.yaml")
    assert best_config.training.lr == pytest.approx(picked["params"]["training.lr"])
    # model.pt holds the winner's weights, not the subset search's best
    assert saved_model_accuracy(result.run_dir / "model.pt", result.run_dir / "config.yaml") == picked["test_accuracy"]
    report = (result.run_dir / "report.md").read_text()
    assert "Finalists trained on the full data" in report and "picked" in report
    assert "finalists' wall-clock (3, on the full data)" in report


@pytest.mark.slow
def test_top_k_one_retrains_the_subset_search_best_alone(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["final"] = {"top_k": 1}
    tiny_experiment["search"]["num_trials"] = 2
    result = run_experiment(parse_config(tiny_experiment), output_dir=tmp_path)
    (only,) = result.summary.finalists
    assert only.rank == 1 and only.picked
    assert result.summary.best_trial_id == result.summary.subset_best_trial_id
    assert "Finalists" not in (result.run_dir / "report.md").read_text()
