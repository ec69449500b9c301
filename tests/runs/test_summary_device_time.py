"""Device-seconds in a real run with its baseline: each side's summary.json holds the slot-seconds its search's
trials and its final trainings held, and comparison.json sets them side by side."""

from __future__ import annotations

import json

import pytest

from cords_tune.results.comparison import Comparison
from cords_tune.results.summary import RunSummary


@pytest.mark.slow
def test_both_sides_record_the_device_seconds_they_held(compared_run):
    run_dir = compared_run.run_dir
    subset = RunSummary.from_json(json.loads((run_dir / "summary.json").read_text()))
    full = RunSummary.from_json(json.loads((run_dir / "baseline" / "summary.json").read_text()))
    comparison = Comparison.from_json(json.loads((run_dir / "comparison.json").read_text()))

    for side in (subset, full):
        held = side.slot_use.slot_s - side.slot_use.idle_s
        assert 0 < held <= side.device_s
        assert side.device_s <= side.slot_use.slots * side.end_to_end_wall_s  # no more than its slots could hold
    assert len(subset.finalists) == 2
    # A race counts its own slot-seconds; finalists trained side by side each hold one slot for their task
    finalists_s = subset.race.device_s if subset.race else sum(f.wall_s for f in subset.finalists)
    assert subset.device_s == pytest.approx(subset.slot_use.slot_s - subset.slot_use.idle_s + finalists_s)
    assert full.device_s == pytest.approx(full.slot_use.slot_s - full.slot_use.idle_s + full.final.wall_s)

    assert (comparison.device_s_subset, comparison.device_s_full) == (subset.device_s, full.device_s)
    assert comparison.device_speedup == pytest.approx(full.device_s / subset.device_s)
    report = (run_dir / "report.md").read_text()
    assert "| tuning + final model device time (slot-seconds held) |" in report
    assert "| device time (slot-seconds held; a slot: one trial's resources) |" in report
