"""comparison.json's numbers from two run summaries, its report section and its figure."""

from __future__ import annotations

import json

import pytest

from cords_tune.cli.display import print_comparison
from conftest import printed_wide
from cords_tune.reports import comparison_section, render_report, write_comparison
from cords_tune.results.comparison import Comparison
from cords_tune.results.fidelity import Fidelity
from cords_tune.results.comparison import TrialTime, build_comparison as build_from_summaries
from cords_tune.reports.wording import speed
from cords_tune.reports import plots
from cords_tune.reports.plots import plot_comparison, plot_fidelity, plot_tradeoff
from cords_tune.results.summary import RunSummary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def build_comparison(subset, full, **options):
    """The comparison of two summary.json contents, as a run builds it from its summaries."""
    return build_from_summaries(RunSummary.from_json(subset), RunSummary.from_json(full), **options)


def summary(strategy, *, tuning, final_wall, test_accuracy, retrained=True, best=0.9):
    return {
        "name": "exp", "dataset": "d", "model": "m", "strategy": strategy, "fraction": 0.1, "seed": 3,
        "metric": "val_accuracy", "mode": "max", "num_trials": 8, "tuning_wall_s": tuning,
        "timings": {"tuning_wall_s": tuning, "final_wall_s": final_wall}, "best_val_accuracy": best,
        "final": {"test_accuracy": test_accuracy, "retrained": retrained, "wall_s": final_wall - 1},
        "best_config": {"training.lr": 0.01 if strategy != "full" else 0.02}, "epochs_total": 40,
        "selection_s_total": 1.0, "train_s_total": 10.0, "eval_s_total": 2.0, "trial_wall_s_total": 15.0,
        "trials_completed": 2, "trials_stopped_early": 6, "trials_diverged": 0, "trials_errored": 0,
        "trials_retried": 0, "end_to_end_wall_s": tuning + final_wall,
    }


def test_speedups_and_delta_from_the_two_summaries():
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    c = build_comparison(subset, full, dropped=["selection.fraction"])
    assert c.tuning_speedup == pytest.approx(6.0)
    assert c.end_to_end_wall_s_subset == pytest.approx(30.0)
    assert c.end_to_end_wall_s_full == pytest.approx(120.0)  # its best trial is already trained
    assert c.end_to_end_speedup == pytest.approx(4.0)
    assert c.accuracy_delta == pytest.approx(-0.01)
    assert c.best_config_subset == {"training.lr": 0.01} and c.best_config_full == {"training.lr": 0.02}
    assert c.trial_time_subset == TrialTime(selection_s=1.0, train_s=10.0, eval_s=2.0, other_s=2.0)
    assert any("tested as it stands" in n for n in c.notes)
    assert any("selection.fraction" in n for n in c.notes)


@pytest.mark.parametrize("metric, mode, subset_val, full_val, regret", [
    ("val_accuracy", "max", 0.93, 0.95, 0.02),
    ("val_loss", "min", 0.30, 0.25, 0.05),
    ("val_accuracy", "max", 0.96, 0.95, -0.01),  # the subset pick validates better: no regret, a gain
])
def test_regret_is_what_the_subset_pick_gives_up_against_the_full_data_pick(metric, mode, subset_val, full_val,
                                                                            regret):
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    for side, val in ((subset, subset_val), (full, full_val)):
        side.update(metric=metric, mode=mode, **{f"best_{metric}": val})
        side["final"][metric] = val
    c = build_comparison(subset, full)
    assert c.regret_val_score == pytest.approx(regret)
    assert c.regret_test_accuracy == pytest.approx(0.01)
    assert f"{metric} {regret:.4g}, test +1.00 points" in comparison_section(c)


def test_finalists_that_changed_the_pick_are_counted_and_noted():
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    subset.update(best_trial_id="b", subset_best_trial_id="a", finalists=[{"trial_id": "a"}, {"trial_id": "b"}])
    c = build_comparison(subset, full)
    assert c.finalists_subset == 2 and c.finalists_changed_pick is True
    assert any("of its top 2 configurations each trained on the full data" in n for n in c.notes)
    assert any("full-data training of its 2 finalists" in n for n in c.notes)
    subset["best_trial_id"] = "a"
    assert build_comparison(subset, full).finalists_changed_pick is False
    assert build_comparison(summary("g", tuning=1.0, final_wall=1.0, test_accuracy=0.9), full).regret_val_score is None


def test_a_retrained_full_data_best_counts_its_retrain():
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=30.0, test_accuracy=0.96, retrained=True)
    c = build_comparison(subset, full)
    assert c.end_to_end_wall_s_full == pytest.approx(150.0)
    assert c.end_to_end_speedup == pytest.approx(5.0)
    assert c.full_best_trial_retrained is True
    assert any("retrained and that time is counted" in n for n in c.notes)


def test_files_and_report_section(tmp_path):
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    c = build_comparison(subset, full)
    write_comparison(tmp_path, c)
    assert json.loads((tmp_path / "comparison.json").read_text())["tuning_speedup"] == pytest.approx(6.0)
    assert (tmp_path / "comparison.png").read_bytes().startswith(PNG_MAGIC)
    section = comparison_section(c)
    assert "6.00x faster" in section and "-1.00 points" in section and "0.02" in section
    report = render_report(RunSummary.from_json(subset), [], sections=[section])
    assert "## Compared with tuning on the full data" in report
    assert "## Compared" not in render_report(RunSummary.from_json(subset), [])


def _titles(monkeypatch, draw):
    """The titles of every axes of the figure ``draw()`` saves."""
    saved = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: saved.append(figure))
    draw()
    return [axes.get_title() for axes in saved[0].axes]


def test_the_figure_words_a_slowdown_as_the_cli_does(monkeypatch, tmp_path):
    subset = summary("gradmatch", tuning=141.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=100.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    c = build_comparison(subset, full)
    titles = _titles(monkeypatch, lambda: plot_comparison(c, tmp_path / "comparison.png"))
    assert f"tuning {speed(c.tuning_speedup)}, end to end {speed(c.end_to_end_speedup)}" in titles
    assert "tuning 1.41x slower" in titles[0] and "faster" not in titles[0]


@pytest.mark.parametrize(("agree", "tied", "said"), [(True, True, "yes (tied for the best on the full data)"),
                                                     (True, False, "yes"), (False, False, "no")])
def test_the_fidelity_figure_calls_a_tie_for_the_best_an_agreement(monkeypatch, tmp_path, agree, tied, said):
    fidelity = Fidelity.from_json({
        "metric": "val_accuracy", "strategy": "random", "fraction": 0.1, "spearman": 0.5, "kendall": 0.5,
        "top1_agree": agree, "top1_tied": tied,
        "configs": [{"index": i, "params": {}, "score_full": 0.9, "score_subset": i / 10} for i in range(3)]})
    titles = _titles(monkeypatch, lambda: plot_fidelity(fidelity, tmp_path / "fidelity.png"))
    assert titles[0].endswith(f"top-1 agrees: {said}") and "differs" not in titles[0]


def energy(kwh, source="estimated", grid=500.0):
    return {"kwh": kwh, "joules": kwh * 3.6e6, "co2e_kg": kwh * grid / 1000, "source": source}


def test_energy_saving_is_full_over_subset_next_to_the_speedup():
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    subset["energy"], full["energy"] = energy(0.002), energy(0.007)
    c = build_comparison(subset, full)
    assert c.energy_kwh_subset == 0.002 and c.energy_kwh_full == 0.007
    assert c.energy_saving == pytest.approx(3.5)
    assert c.co2e_kg_subset == pytest.approx(0.001) and c.co2e_kg_full == pytest.approx(0.0035)
    assert c.energy_source_subset == c.energy_source_full == "estimated"
    keys = list(c.to_json())
    assert keys.index("energy_saving") == keys.index("final_device_s_full") + 3  # after the device-seconds
    assert any("saving follows resource-seconds" in n for n in c.notes)
    section = comparison_section(c)
    assert "| tuning + final model energy | 2 Wh | 7 Wh | 3.50x less energy |" in section
    assert "| CO2e of that energy | 1 g CO2e | 3.5 g CO2e |  |" in section
    assert "| energy figures are | estimated | estimated |  |" in section

    full["energy"] = energy(0.001, source="measured (NVML)")  # the subset side used more
    c = build_comparison(subset, full)
    assert c.energy_saving == pytest.approx(0.5)
    assert "2.00x more energy" in comparison_section(c)
    assert not any("resource-seconds" in n for n in c.notes)  # measured figures follow no formula


def test_device_seconds_of_both_sides_and_their_ratio_next_to_the_speedups(tmp_path):
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    subset["energy"], full["energy"] = energy(0.002), energy(0.0072)
    subset["device_s"], full["device_s"] = 36.0, 144.0
    subset["race"] = {"candidates": 2, "winner_rank": 1, "epochs": 3, "wall_s": 8.0, "device_s": 12.0,
                      "rungs": [{"epoch": 1, "ranks": [1, 2], "scores": [0.9, 0.8], "kept": [1],
                                 "ended_after_s": 3.0, "device_s": 6.0}]}
    full["final"]["wall_s"] = 2.0
    c = build_comparison(subset, full)
    assert (c.device_s_subset, c.device_s_full) == (36.0, 144.0)
    assert (c.final_device_s_subset, c.final_device_s_full) == (12.0, 2.0)  # the race's; the test of the best trial
    assert c.race_subset.rungs[0].kept == [1] and c.race_subset.device_s == 12.0
    assert c.device_speedup == pytest.approx(c.device_s_full / c.device_s_subset) == pytest.approx(4.0)
    data = c.to_json()
    keys = list(data)
    assert keys[keys.index("end_to_end_speedup") + 1:][:3] == ["device_s_subset", "device_s_full", "device_speedup"]
    assert Comparison.from_json(json.loads(json.dumps(data))) == c
    assert any(n.startswith("device_speedup is the full-data side's device-seconds") for n in c.notes)
    section = comparison_section(c)
    row = "| tuning + final model device time (slot-seconds held) | 36.0 s | 144.0 s | 4.00x less device time |"
    assert row in section
    assert "| energy per device-second | 200 W | 180 W |  |" in section  # 7200 J / 36 s, 25920 J / 144 s
    assert "| 12.0 s | 2.0 s |  |" in section  # of which the final model
    line = next(line for line in printed_wide(print_comparison, c).splitlines() if "device time (slot-seconds held)" in line)
    assert "36.0 s" in line and "144.0 s" in line and "4.00x less device time" in line

    del subset["device_s"], subset["race"]  # written before device-seconds and races were recorded
    c = build_comparison(subset, full)
    assert c.device_s_subset is None and c.device_speedup is None and c.final_device_s_subset is None
    assert c.race_subset is None and c.to_json()["race_subset"] is None
    assert "device time" not in comparison_section(c)
    assert not any(n.startswith("device_speedup") for n in c.notes)


def test_summaries_without_energy_compare_without_it():
    subset = summary("gradmatch", tuning=20.0, final_wall=10.0, test_accuracy=0.95)
    full = summary("full", tuning=120.0, final_wall=0.5, test_accuracy=0.96, retrained=False)
    full["energy"] = energy(0.007)  # the subset side's summary.json was written before energy was recorded
    c = build_comparison(subset, full)
    assert c.energy_kwh_subset is None and c.energy_saving is None
    assert any("energy_saving is missing" in n for n in c.notes)
    assert "tuning + final model energy" not in comparison_section(c)


def test_tradeoff_and_fidelity_figures_are_pngs(tmp_path):
    rows = [
        {"strategy": s, "fraction": f, "tuning_speedup": 10 * f + 1, "end_to_end_speedup": 5 * f + 1,
         "accuracy_delta": -f / 10}
        for s in ("gradmatch", "random") for f in (0.05, 0.1)
    ]
    plot_tradeoff([Comparison.from_json(row) for row in rows], tmp_path / "tradeoff.png", title="t")
    fidelity = Fidelity.from_json({
        "metric": "val_accuracy", "strategy": "random", "fraction": 0.1, "spearman": None, "kendall": 0.5,
        "top1_agree": False, "top1_tied": False,
        "configs": [{"index": i, "params": {}, "score_full": i / 10, "score_subset": 0.5} for i in range(3)]})
    plot_fidelity(fidelity, tmp_path / "fidelity.png")
    for name in ("tradeoff.png", "fidelity.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
