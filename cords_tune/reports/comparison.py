"""Subset tuning against full-data tuning in report.md and ``comparison.png`` (the numbers, ``comparison.json``,
are ``cords_tune.results.comparison``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cords_tune.results.comparison import Comparison
from cords_tune.reports.files import write_json_atomic
from cords_tune.reports.markdown import markdown_table
from cords_tune.reports.wording import (co2e, device_time_rows, energy_amount, energy_saving, regret, seconds, speed,
                                        tuned_test_rows)
from cords_tune.reports.plots import plot_comparison

__all__ = ["comparison_section", "write_comparison"]


def comparison_section(comparison: Comparison) -> str:
    """The report.md section: the table, both best configurations, and how the times were taken."""
    c = comparison
    metric = c.metric
    best_subset, best_full = c.best_config_subset or {}, c.best_config_full or {}
    lines = [
        "## Compared with tuning on the full data",
        "",
        f"The same search (space, {c.num_trials} trials, sampler seed {c.seed}, ASHA and resources) ran "
        f"on the full data after the `{c.strategy}` search at fraction {c.fraction}.",
        "",
        markdown_table(
            ["quantity", f"{c.strategy} subsets", "full data", "ratio / delta"],
            [
                ["tuning wall-clock", seconds(c.tuning_wall_s_subset), seconds(c.tuning_wall_s_full),
                 speed(c.tuning_speedup)],
                ["tuning + final model wall-clock", seconds(c.end_to_end_wall_s_subset),
                 seconds(c.end_to_end_wall_s_full), speed(c.end_to_end_speedup)],
                *device_time_rows(c),
                *_energy_rows(c),
                [f"{metric} of the pick while tuning", c.best_metric_subset, c.best_metric_full, ""],
                ["test accuracy of the final model", c.test_accuracy_subset, c.test_accuracy_full,
                 f"{100 * c.accuracy_delta:+.2f} points"],
                *tuned_test_rows(c),
                ["regret against the full-data pick (full-data validation, test)", "", "",
                 regret(c)],
                ["epochs trained, all trials", c.epochs_total_subset, c.epochs_total_full, ""],
            ],
        ),
        "",
        markdown_table(
            ["best configuration", "subsets", "full data"],
            [[p, best_subset.get(p), best_full.get(p)] for p in sorted(set(best_subset) | set(best_full))],
        ),
        "",
    ]
    lines += [f"- {note}." for note in c.notes]
    lines += ["", "Files: comparison.json, comparison.png, and the full-data search's own files in baseline/.", ""]
    return "\n".join(lines)


def _energy_rows(c: Comparison) -> list[list[Any]]:
    """Energy and CO2e of both sides, and the saving; the source of each figure (measured or estimated)."""
    if c.energy_saving is None:
        return []
    return [
        ["tuning + final model energy", energy_amount(c.energy_kwh_subset), energy_amount(c.energy_kwh_full),
         energy_saving(c.energy_saving)],
        ["CO2e of that energy", co2e(c.co2e_kg_subset), co2e(c.co2e_kg_full), ""],
        ["energy figures are", c.energy_source_subset, c.energy_source_full, ""],
    ]


def write_comparison(run_dir: Path, comparison: Comparison) -> None:
    """``comparison.png`` then ``comparison.json`` (its presence means the comparison finished)."""
    plot_comparison(comparison, Path(run_dir) / "comparison.png")
    write_json_atomic(Path(run_dir) / "comparison.json", comparison.to_json())
