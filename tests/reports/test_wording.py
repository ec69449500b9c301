"""The phrases the CLI and report.md share."""

from __future__ import annotations

import math

from cords_tune.reports.wording import count, fallback_epoch, fallback_note, seconds, speed


def test_a_slowdown_reads_as_slower_not_as_a_fraction_faster():
    assert speed(4.2) == "4.20x faster"
    assert speed(1 / 1.04) == "1.04x slower"
    assert speed(None) == speed(float("nan")) == "n/a"


def test_counts_agree_in_number_and_seconds_are_rounded():
    assert count(1, "trial") == "1 trial" and count(0, "trial") == "0 trials" and count(3, "trial") == "3 trials"
    assert seconds(15.93141) == "15.9 s" and seconds(None) == "n/a"


def test_fallback_epoch_reads_parquet_nan_as_none():
    assert fallback_epoch({"selection_fallback_epoch": 20}) == 20
    assert fallback_epoch({"selection_fallback_epoch": math.nan}) is None
    assert fallback_epoch({}) is None


def test_fallback_note_names_the_count_the_epochs_and_the_best_trial():
    summary = {"strategy": "gradmatch", "num_trials": 12, "trials_started": 12, "trials_selection_fallback": 3,
               "selection_fallback_epochs": [10, 20, 20], "best_trial_selection_fallback_epoch": 10}
    note = fallback_note(summary)
    assert note.startswith("3 trials of 12 fell back from gradmatch to random subsets (at epochs 10, 20, 20)")
    assert "the best trial is one of them: it trained on random subsets from epoch 10" in note
    assert fallback_note({**summary, "trials_selection_fallback": 0}) is None
    summary["best_trial_selection_fallback_epoch"] = None
    assert "the best trial is not one of them" in fallback_note(summary)
