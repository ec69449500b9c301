"""The rows of a run's summary table, (label, value text): the CLI prints them after a run, report.md holds
them as its result table, so the two say the same. A trial total declared with a row (``TRIAL_TOTALS``) shows
up here by itself; so does the finalists' race, rung by rung, where the run raced them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cords_tune.reports.wording import (count, energy_line, number, retrain_label, seconds, shared_subset_line,
                                        slot_use_line, trials_outcome, tuned_test_figures)
from cords_tune.results.device_time import device_time
from cords_tune.results.summary import TRIAL_TOTALS

if TYPE_CHECKING:
    from cords_tune.results.finalist import RaceRecord, RungRecord
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
        *race_rows(summary),
        ("total wall-clock (data, Ray start, tuning, retrain)", seconds(summary.end_to_end_wall_s)),
        *_device_rows(summary),
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


def race_rows(summary: RunSummary) -> list[tuple[str, str]]:
    """The finalists' race on the full data: one row for the race, one per rung; none without a race (a single
    retrain, or a summary written before races)."""
    race = summary.race
    if race is None or race.candidates < 2:
        return []
    return [("finalists' race on the full data", _race_line(race)),
            *((f"  rung at epoch {rung.epoch} ({summary.metric})", _rung_line(rung)) for rung in race.rungs),
            *([("  finalists' worker start (median wait)", seconds(race.start_s))] if race.start_s is not None else [])]


def _race_line(race: RaceRecord) -> str:
    how = (f"successive halving over {count(len(race.rungs), 'rung')}" if race.rungs
           else "each trained to the end")
    winner = f"winner #{race.winner_rank} trained {count(race.epochs, 'epoch')}"
    started = [*(["from its subset trial's model"] if race.warm_start else []),
               *([f"{race.workers} data-parallel workers at the end"] if race.workers > 1 else [])]
    return (f"{race.candidates} candidates, {how}; {winner}" + (f" ({', '.join(started)})" if started else "")
            + f"; {seconds(race.wall_s)} wall-clock, {_device_seconds(race.device_s)}")


def _rung_line(rung: RungRecord) -> str:
    scores = dict(zip(rung.ranks, rung.scores))
    stopped = [rank for rank in rung.ranks if rank not in rung.kept]

    def shown(ranks: list[int]) -> str:
        return ", ".join(f"#{rank} ({number(scores.get(rank))})" for rank in ranks)

    return (f"{count(len(rung.ranks), 'candidate')} -> kept {shown(rung.kept)}"
            + (f"; stopped {shown(stopped)}" if stopped else "")
            + f"; decided {seconds(rung.ended_after_s)} in, {_device_seconds(rung.device_s)} for this rung")


def _device_rows(summary: RunSummary) -> list[tuple[str, str]]:
    """Slot-seconds held, split into the search's and the final trainings'; none in a summary written before
    they were recorded."""
    held = device_time(summary) if summary.device_s is not None else None
    if held is None:
        return []
    return [("device time (slot-seconds held; a slot: one trial's resources)",
             f"{seconds(summary.device_s)}: tuning {seconds(held.search_s)}, {_final_part(summary)} "
             f"{seconds(held.final_s)}")]


def _final_part(summary: RunSummary) -> str:
    if (summary.race is not None and summary.race.candidates > 1) or len(summary.finalists) > 1:
        return "finalists"
    if summary.finalists or summary.final is None or summary.final.retrained:
        return "final retrain"
    return "test of the best trial"


def _device_seconds(value: float) -> str:
    return f"{value:.1f} device-s"
