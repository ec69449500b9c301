"""The share of the trials' time spent selecting: in a real run's summary.json, the CLI's table and report.md."""

from __future__ import annotations

import json

import pytest

from cords_tune.cli.console import out
from cords_tune.cli.display import print_summary
from cords_tune.results import RunSummary


def test_a_runs_selection_share_is_its_selection_time_over_its_trials_time(compared_run):
    run_dir = compared_run.run_dir
    written = json.loads((run_dir / "summary.json").read_text())
    share = written["selection_share"]
    assert share == pytest.approx(written["selection_s_total"] / written["trial_wall_s_total"])
    assert 0 < share < 1  # GradMatch selects, and its trials do more than select

    row = f"| selection's share of the trials' time | {100 * share:.1f}% |"
    assert row in (run_dir / "report.md").read_text()
    width, out.width = out.width, 200  # one line per row
    try:
        with out.capture() as printed:
            print_summary(RunSummary.from_json(written))
    finally:
        out.width = width
    line = next(line for line in printed.get().splitlines() if "selection's share of the trials' time" in line)
    assert f"{100 * share:.1f}%" in line

    baseline = json.loads((run_dir / "baseline" / "summary.json").read_text())
    assert baseline["selection_share"] == pytest.approx(baseline["selection_s_total"] / baseline["trial_wall_s_total"])
