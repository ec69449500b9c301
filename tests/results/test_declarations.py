"""Each recorded quantity declared once: a trial's fields from its per-epoch reports (``REPORTED``), a search's
totals from its trials (``TRIAL_TOTALS``); the records hold every declared field."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest

from cords_tune.results.energy import Energy
from cords_tune.results.summary import TRIAL_TOTALS, RunSummary, trial_totals
from cords_tune.results.trial import REPORTED, TrialRecord, reported_fields


def trial(index, **changes):
    row = TrialRecord(
        index=index, trial_id=f"t{index}", status="completed", params={}, epochs=4, best_metric=0.8,
        last_metric=0.7, best_val_accuracy=0.8, last_val_accuracy=0.7, wall_s=10.0, selection_s=2.0, train_s=6.0,
        eval_s=1.0, node="n1", **Energy(estimated_j=1.0).as_columns(),
    )
    return replace(row, **changes)


def test_every_declared_field_is_a_field_of_its_record():
    assert {r.field for r in REPORTED} <= {f.name for f in fields(TrialRecord)}
    assert {t.key for t in TRIAL_TOTALS} <= {f.name for f in fields(RunSummary)}
    assert {t.field for t in TRIAL_TOTALS} | {t.of for t in TRIAL_TOTALS if t.of} <= {f.name for f in fields(TrialRecord)}
    assert all(t.label for t in TRIAL_TOTALS if t.row)  # a shown total has a label


def test_a_trials_fields_come_from_its_epochs_as_declared():
    history = {"val_loss": [0.9, 0.4, math.nan, 0.6], "val_accuracy": [0.5, 0.8, math.nan, 0.7],
               "selection_s": [1.0, 0.0, 0.5, 0.0], "train_s": [2.0, 2.0, 2.0, 2.0], "eval_s": [0.25] * 4}
    final = {"training_iteration": 4, "time_total_s": 9.5, "samples_seen": 400, "restarts": 1,
             "selection_fallback": True, "gpu_ids": "0", "gpus_assigned": 0.5}
    got = reported_fields(history, final, "val_loss", "min")
    assert got == {
        "epochs": 4, "best_metric": 0.4, "last_metric": 0.6,  # the search metric's best in its mode; NaN skipped
        "best_val_accuracy": 0.8, "last_val_accuracy": 0.7, "wall_s": 9.5,
        "selection_s": 1.5, "train_s": 8.0, "eval_s": 1.0,
        "samples_seen": 400, "selection_fallback": True, "restarts": 1, "gpu_ids": "0", "gpus_assigned": 0.5,
    }
    nothing = reported_fields({}, {}, "val_accuracy", "max")  # a trial that reported no epoch
    assert nothing["epochs"] == 0 and nothing["gpu_ids"] == "" and nothing["selection_s"] == 0.0
    assert math.isnan(nothing["best_metric"]) and math.isnan(nothing["last_val_accuracy"])


def test_a_searchs_totals_come_from_its_trials_as_declared():
    trials = [
        trial(0),
        trial(1, status="stopped", epochs=2, restarts=2, node="n2", selection_fallback=True,
              selection_fallback_epoch=2),
        trial(2, status="error", epochs=1, selection_fallback=True, selection_fallback_epoch=1),
        trial(3, status="not_started", epochs=0, wall_s=0.0, selection_s=0.0, train_s=0.0, eval_s=0.0, node=""),
    ]
    totals = trial_totals(trials)
    assert totals == {
        "trials_started": 3, "trials_completed": 1, "trials_stopped_early": 1, "trials_errored": 1,
        "trials_diverged": 0, "trials_retried": 1, "trials_selection_fallback": 2,
        "selection_fallback_epochs": [1, 2], "selection_s_total": 6.0, "train_s_total": 18.0, "eval_s_total": 3.0,
        "trial_wall_s_total": 30.0, "epochs_total": 7, "nodes": 2, "selection_share": 0.2,
    }
    assert all(isinstance(totals[key], int) for key in ("trials_started", "epochs_total", "nodes"))


def test_totals_of_no_trials_are_zero_or_empty():
    totals = trial_totals([])
    assert totals["trials_started"] == totals["epochs_total"] == totals["selection_s_total"] == 0
    assert totals["selection_fallback_epochs"] == []
    assert totals["selection_share"] is None  # a share of nothing


@pytest.mark.parametrize("key", [t.key for t in TRIAL_TOTALS])
def test_a_summary_written_before_a_total_existed_still_reads(key):
    data = {"name": "x", "seed": 0, "dataset": "d", "model": "m", "strategy": "random", "fraction": 0.1,
            "metric": "val_accuracy", "mode": "max", "num_trials": 2}
    assert RunSummary.from_json(data).to_json()[key] == getattr(RunSummary.from_json(data), key)
