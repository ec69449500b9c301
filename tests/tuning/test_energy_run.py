"""Energy in a real run with its baseline: every trial's in trials.parquet, the finalists' and the totals in
summary.json, both sides and the saving in comparison.json and report.md. The trials have no GPU; on a machine
without readable RAPL (the development machine) every figure is estimated: seconds x CPUs x
``energy.cpu_watts_per_core``."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from conftest import ENERGY_GRID_GCO2_PER_KWH, ENERGY_WATTS as WATTS
from cords_tune.energy import rapl_packages


@pytest.mark.slow
def test_energy_of_trials_finalists_and_both_sides_of_the_comparison(compared_run):
    source = "measured (RAPL)" if rapl_packages() else "estimated"  # root on a machine with RAPL reads it
    run_dir = compared_run.run_dir

    sides = {}
    for side, folder in (("subset", run_dir), ("full", run_dir / "baseline")):
        summary = json.loads((folder / "summary.json").read_text())
        trials = pq.read_table(folder / "trials.parquet").to_pylist()
        for trial in trials:
            assert trial["energy_source"] == source and trial["energy_j"] > 0
            if source == "estimated":
                # From the trial's start (building its model too, which Tune's wall_s leaves out) to its last epoch
                busy = trial["selection_s"] + trial["train_s"] + trial["eval_s"]
                assert WATTS * busy <= trial["energy_j"] <= WATTS * summary["tuning_wall_s"]
                assert trial["energy_measured_j"] == 0
        energy = summary["energy"]
        assert energy["source"] == source
        parts = energy["parts"]
        assert parts["trials"]["joules"] == pytest.approx(sum(t["energy_j"] for t in trials))
        assert energy["joules"] == pytest.approx(sum(p["joules"] for p in parts.values()))
        assert energy["kwh"] == pytest.approx(energy["joules"] / 3.6e6)
        assert energy["co2e_kg"] == pytest.approx(energy["kwh"] * ENERGY_GRID_GCO2_PER_KWH / 1000)
        assert energy["assumptions"]["cpu_watts_per_core"] == WATTS
        sides[side] = energy

    summary = json.loads((run_dir / "summary.json").read_text())
    finalists = summary["finalists"]
    assert len(finalists) == 2 and all(f["energy_source"] == source for f in finalists)
    for finalist in finalists:
        assert finalist["energy_j"] > 0
        if source == "estimated":
            assert finalist["energy_j"] <= WATTS * finalist["wall_s"]
    assert sides["subset"]["parts"]["finalists"]["joules"] == pytest.approx(sum(f["energy_j"] for f in finalists))
    assert summary["final"]["energy_j"] == next(f["energy_j"] for f in finalists if f["picked"])
    baseline = json.loads((run_dir / "baseline" / "summary.json").read_text())
    assert set(sides["full"]["parts"]) == {"trials", "final"}  # its best trial tested (or retrained)
    assert sides["full"]["parts"]["final"]["joules"] == pytest.approx(baseline["final"]["energy_j"])

    comparison = json.loads((run_dir / "comparison.json").read_text())
    assert comparison["energy_kwh_subset"] == pytest.approx(sides["subset"]["kwh"])
    assert comparison["energy_kwh_full"] == pytest.approx(sides["full"]["kwh"])
    assert comparison["energy_saving"] == pytest.approx(sides["full"]["kwh"] / sides["subset"]["kwh"])
    assert comparison["energy_source_subset"] == comparison["energy_source_full"] == source
    report = (run_dir / "report.md").read_text()
    assert "| energy of the trials and final training |" in report and f"({source})" in report
    assert "| tuning + final model energy |" in report
