"""summary.json's finalists' race and device-seconds: build_summary records them, they survive the JSON round trip,
the CLI and report.md show the race rung by rung from one row source, and a summary written before them reads and
shows as it did."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from conftest import printed_summary
from cords_tune.config import parse_config
from cords_tune.preflight import load_and_check
from cords_tune.reports import render_report
from cords_tune.reports.rows import race_rows, summary_rows
from cords_tune.results.energy import Energy
from cords_tune.results.final import FinalResult
from cords_tune.results.finalist import RaceRecord, RungRecord
from cords_tune.results.slot_use import SlotUse
from cords_tune.results.summary import RunSummary, Timings
from cords_tune.results.trial import TrialRecord
from cords_tune.runs.summary import SummaryInputs, build_summary
from cords_tune.tuning.finalists import Finalist, Settled

SLOT_USE = SlotUse(slots=2, slot_s=40.0, work_s=30.0, starting_s=2.0, building_s=1.0, reporting_s=3.0,
                   between_trials_s=0.5, idle_s=3.5)  # 36.5 slot-seconds held
RACE = RaceRecord(
    candidates=3,
    rungs=[RungRecord(epoch=1, ranks=[1, 2, 3], scores=[0.81, 0.84, 0.7], kept=[2], ended_after_s=4.5,
                      device_s=13.5)],
    winner_rank=2, epochs=3, wall_s=9.0, device_s=18.0, start_s=1.25,
)


def trial(index: int) -> TrialRecord:
    return TrialRecord(index=index, trial_id=f"t{index}", status="completed",
                       params={"training.lr": 0.01 * (index + 1)}, epochs=3, best_metric=0.9 - index / 10,
                       last_metric=0.7, best_val_accuracy=0.9 - index / 10, last_val_accuracy=0.7, wall_s=2.5)


def result(epochs: int, val_accuracy: float, *, retrained: bool = True) -> FinalResult:
    return FinalResult(test_accuracy=0.9, test_loss=0.3, val_accuracy=val_accuracy, val_loss=0.4, epochs=epochs,
                       wall_s=4.0, train_s=3.5, node="n1", retrained=retrained, energy=Energy(estimated_j=50.0))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The subset side's summary with a race of three (one rung at epoch 1: #2 kept) and the full-data side's,
    whose best trial was tested as it stands, each as build_summary makes it, and read back from its JSON."""
    folder = tmp_path_factory.mktemp("race")
    config = parse_config({
        "name": "raced", "dataset": {"name": "synthetic", "data_dir": str(folder / "data"),
                                     "params": {"num_samples": 300, "num_features": 4, "num_classes": 3}},
        "model": {"name": "mlp"}, "training": {"epochs": 3, "device": "cpu"},
        "search": {"num_trials": 3, "space": {"training.lr": {"loguniform": [1e-3, 1e-1]}}},
        "final": {"top_k": 3},
    })
    data = load_and_check(config)
    trials = [trial(i) for i in range(3)]
    finalists = [Finalist(rank, trials[rank - 1], config, result(3, score), done_after_s=4.0)
                 for rank, score in ((1, 0.81), (2, 0.84), (3, 0.7))]
    settled = Settled(finalists, winner_rank=2, race=RACE)
    subset = build_summary(SummaryInputs(config, data, trials, time.perf_counter(),
                                         Timings(tuning_wall_s=20.0, final_wall_s=9.0), best=trials[1],
                                         final=settled.winner.result, settled=settled, subset_best=trials[0],
                                         slot_use=SLOT_USE))
    full = build_summary(SummaryInputs(config, data, trials, time.perf_counter(),
                                       Timings(tuning_wall_s=60.0, final_wall_s=0.5), best=trials[0],
                                       final=result(3, 0.85, retrained=False)))
    path = folder / "summary.json"
    read = []
    for summary in (subset, full):
        path.write_text(json.dumps(summary.to_json()))
        read.append(RunSummary.from_json(json.loads(path.read_text())))
    return subset, full, *read


def test_build_summary_records_the_race_and_the_device_seconds_held(built):
    subset, full, subset_read, full_read = built
    assert subset.race == RACE and subset_read == subset and subset_read.to_json() == subset.to_json()
    assert subset.device_s == pytest.approx(36.5 + RACE.device_s)  # the search's held slot-seconds + the race's
    # The full-data side: its trials' own wall-clocks (no slot use recorded) + the test of its best trial
    assert full.race is None and full_read == full
    assert full.device_s == pytest.approx(3 * 2.5 + 4.0)


def test_the_cli_and_report_md_show_the_race_rung_by_rung(built):
    _, _, subset, full = built
    rows = dict(summary_rows(subset))
    assert rows["finalists' race on the full data"] == (
        "3 candidates, successive halving over 1 rung; winner #2 trained 3 epochs; 9.0 s wall-clock, 18.0 device-s")
    rung = "3 candidates -> kept #2 (0.84); stopped #1 (0.81), #3 (0.7); decided 4.5 s in, 13.5 device-s for this rung"
    assert rows["  rung at epoch 1 (val_accuracy)"] == rung
    assert rows["  finalists' worker start (median wait)"] == "1.2 s"
    assert rows["device time (slot-seconds held; a slot: one trial's resources)"] == (
        "54.5 s: tuning 36.5 s, finalists 18.0 s")
    assert dict(summary_rows(full))["device time (slot-seconds held; a slot: one trial's resources)"] == (
        "11.5 s: tuning 7.5 s, test of the best trial 4.0 s")
    report, cli = render_report(subset, []), printed_summary(subset)
    for text in (report, cli):
        assert rung in text and "stopped at epoch 1" not in text  # no finalist record says where it stopped
        assert "raced on the full data" in text
    finalists = [replace(f, stopped_at=1 if f.rank != 2 else None) for f in subset.finalists]
    assert "stopped at epoch 1" in render_report(replace(subset, finalists=finalists), [])


def test_a_summary_written_before_races_reads_and_shows_as_before(built):
    _, _, subset, _ = built
    data = subset.to_json()
    del data["race"], data["device_s"]
    old = RunSummary.from_json(data)
    assert old.race is None and old.device_s is None
    device_row = "device time (slot-seconds held; a slot: one trial's resources)"
    added = {label for label, _ in race_rows(subset)} | {device_row}
    assert summary_rows(old) == [row for row in summary_rows(subset) if row[0] not in added]
    assert "device time" not in printed_summary(old) and "rung at epoch" not in render_report(old, [])
    assert "were trained on the full data" in render_report(old, [])
    alone = replace(subset, race=replace(RACE, candidates=1, rungs=[]), finalists=subset.finalists[1:2])
    assert race_rows(alone) == []  # a single retrain shows as it always did
