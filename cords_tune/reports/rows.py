"""The rows of a run's summary table, (label, value text): the CLI prints them after a run, report.md holds
them as its result table, so the two say the same. A trial total declared with a row (``TRIAL_TOTALS``) shows
up here by itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cords_tune.reports.wording import (energy_line, number, retrain_label, seconds, shared_subset_line,
                                        slot_use_line, trials_outcome, tuned_test_figures)
from cords_tune.results.summary import TRIAL_TOTALS

if TYPE_CHECKING:
    from cords_tune.results.summary import RunSummary

__all__ = ["summary_rows"]


def summary_rows(summary: RunSummary) -> list[tuple[str, str]]:
    """What a search found and what it cost: its trials, the picked config's score, the final model's test
    figures, the wall-clocks, the slot time and the energy."""
    metric, final = summary.metric, summary.final
    best_fell_back = summary.best_trial_selection_fallback_epoch
    final_wall_s = summary.timings.final_wall_s
    return [
        ("trials (completed / stopped early / diverged / errored)", trials_outcome(summary)),
        *_declared(summary, "trials"),
        (f"{metric} of the picked config while tuning"
         + (f" (random subsets from epoch {best_fell_back})" if best_fell_back is not None else ""),
         number(summary.best_metric)),
        ("final test accuracy (the picked config trained on the full data)",
         number(final.test_accuracy if final else None)),
        *[(f"final {name} (the same model)", number(value)) for name, value in tuned_test_figures(metric, final)],
        ("tuning wall-clock", seconds(summary.tuning_wall_s)),
        *_declared(summary, "times"),
        *([("shared subset (in the tuning wall-clock)", shared_subset_line(summary.shared_subset))]
          if summary.shared_subset else []),
        ("tuning slot time", slot_use_line(summary.slot_use)),
        (retrain_label(summary), seconds(final.wall_s if final_wall_s is None and final else final_wall_s)),
        ("total wall-clock (data, Ray start, tuning, retrain)", seconds(summary.end_to_end_wall_s)),
        ("energy of the trials and final training", energy_line(summary.energy)),
    ]


def _declared(summary: RunSummary, row: str) -> list[tuple[str, str]]:
    """The rows of the trial totals declared for the ``row`` group, in their declared order."""
    return [(total.label, _shown(getattr(summary, total.key), total.unit)) for total in TRIAL_TOTALS
            if total.row == row]


def _shown(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "seconds":
        return seconds(value)
    if unit == "share":
        return f"{100 * value:.1f}%"
    return number(value)
