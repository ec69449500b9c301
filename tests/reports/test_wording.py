"""The phrases the CLI and report.md share."""

from __future__ import annotations

import math

from cords_tune.results.energy import EnergyRecord
from cords_tune.reports.wording import (co2e, count, energy_amount, energy_line, energy_saving, fallback_note, seconds,
                                        speed, trials_outcome)
from cords_tune.results.summary import RunSummary


def test_a_slowdown_reads_as_slower_not_as_a_fraction_faster():
    assert speed(4.2) == "4.20x faster"
    assert speed(1 / 1.04) == "1.04x slower"
    assert speed(None) == speed(float("nan")) == "n/a"


def test_counts_agree_in_number_and_seconds_are_rounded():
    assert count(1, "trial") == "1 trial" and count(0, "trial") == "0 trials" and count(3, "trial") == "3 trials"
    assert seconds(15.93141) == "15.9 s" and seconds(None) == "n/a"


def test_fallback_note_names_the_count_the_epochs_and_the_best_trial():
    summary = {"strategy": "gradmatch", "num_trials": 12, "trials_started": 12, "trials_selection_fallback": 3,
               "selection_fallback_epochs": [10, 20, 20], "best_trial_selection_fallback_epoch": 10}
    note = fallback_note(RunSummary.from_json(summary))
    assert note.startswith("3 trials of 12 fell back from gradmatch to random subsets (at epochs 10, 20, 20)")
    assert "the best trial is one of them: it trained on random subsets from epoch 10" in note
    assert fallback_note(RunSummary.from_json({**summary, "trials_selection_fallback": 0})) is None
    summary["best_trial_selection_fallback_epoch"] = None
    assert "the best trial is not one of them" in fallback_note(RunSummary.from_json(summary))


def test_energy_reads_in_wh_below_a_kwh_and_co2e_in_grams_below_a_kg():
    assert energy_amount(0.000492) == "0.492 Wh" and energy_amount(2.5) == "2.5 kWh" and energy_amount(None) == "n/a"
    assert co2e(0.000234) == "0.234 g CO2e" and co2e(1.2) == "1.2 kg CO2e"
    assert energy_line(EnergyRecord.from_dict({"kwh": 0.000492, "co2e_kg": 0.000234, "source": "estimated"})) == \
        "0.492 Wh, 0.234 g CO2e (estimated)"
    assert energy_line(None) == "n/a"
    assert energy_saving(2.9) == "2.90x less energy" and energy_saving(0.5) == "2.00x more energy"
    assert energy_saving(math.nan) == "n/a"


def test_a_search_that_ended_sooner_says_how_many_of_the_trials_asked_for_started():
    outcome = {"num_trials": 1000, "trials_started": 108, "trials_completed": 51, "trials_stopped_early": 40,
               "trials_diverged": 1, "trials_errored": 0}
    assert trials_outcome(RunSummary.from_json(outcome)) == "108 of 1000 (51 / 40 / 1 / 0)"
    assert trials_outcome(RunSummary.from_json({**outcome, "trials_started": 1000})) == "1000 (51 / 40 / 1 / 0)"
