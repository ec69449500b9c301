"""A search's summary.json, built in one place from what the run's phases returned."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.results.compression import Compression
from cords_tune.results.device_time import device_time
from cords_tune.results.energy import Energy, RunEnergy
from cords_tune.results.final import FinalResult
from cords_tune.results.slot_use import SlotUse
from cords_tune.results.summary import RunSummary, Timings, trial_totals
from cords_tune.results.trial import TrialRecord
from cords_tune.tuning.finalists import Settled
from cords_tune.tuning.search import SearchOutcome

__all__ = ["SummaryInputs", "build_summary"]


@dataclass(frozen=True)
class SummaryInputs:
    """What one search's summary is made of.

    ``search`` is given for a search that finished: the summary then records its study, slot use, shared subset
    and notes, and whether it was resumed. An unfinished search's summary has its ``slot_use`` so far instead.
    With ``settled``, ``best`` is the finalist the full data picked and ``subset_best`` the search's own best.
    """

    config: ExperimentConfig
    data: DataBundle
    trials: list[TrialRecord]
    started: float  # time.perf_counter() at the run's start, earlier by the time its earlier sessions took
    timings: Timings
    best: TrialRecord | None = None
    final: FinalResult | None = None
    settled: Settled | None = None
    subset_best: TrialRecord | None = None
    status: str | None = None  # default: ok with a best trial, else failed
    search: SearchOutcome | None = None
    resumed: bool = False
    slot_use: SlotUse | None = None
    compression: Compression | None = None
    notes: list[str] = field(default_factory=list)


def build_summary(parts: SummaryInputs) -> RunSummary:
    """The search's summary (summary.json) from its parts."""
    config, trials, best, search = parts.config, parts.trials, parts.best, parts.search
    subset_best = parts.subset_best or best
    summary = RunSummary(
        name=config.name,
        seed=config.seed,
        dataset=parts.data.describe(),
        model=config.model.name,
        strategy=config.selection.strategy,
        fraction=config.selection.fraction,
        metric=config.search.metric,
        mode=config.search.mode,
        num_trials=config.search.num_trials,
        **trial_totals(trials),
        best_trial_selection_fallback_epoch=best.selection_fallback_epoch if best else None,
        tuning_wall_s=parts.timings.tuning_wall_s,
        best_trial_id=best.trial_id if best else None,
        best_config=best.params if best else None,
        best_metric=best.best_metric if best else None,
        best_val_accuracy=best.best_val_accuracy if best else None,
        final=parts.final,
        finalists=parts.settled.records() if parts.settled else [],
        subset_best_trial_id=subset_best.trial_id if subset_best else None,
        timings=parts.timings,
        end_to_end_wall_s=time.perf_counter() - parts.started,
        energy=_energy(config, trials, parts.final, parts.settled).record(),
        status=parts.status or ("ok" if best else "failed"),
        notes=[*parts.notes, *(search.notes if search else ())],
        resumed=parts.resumed if search else None,
        optuna_study=search.study if search else None,
        slot_use=search.slot_use if search else parts.slot_use,
        shared_subset=search.shared_subset if search else None,
        compression=parts.compression,
        classes=list(parts.data.class_labels),
        race=getattr(parts.settled, "race", None),  # Settled gains it with the finalists' race
    )
    held = device_time(summary)
    return replace(summary, device_s=held.total_s if held else None)


def _energy(
    config: ExperimentConfig, trials: list[TrialRecord], final: FinalResult | None, settled: Settled | None
) -> RunEnergy:
    """The energy of the search's trials and of its final trainings: the finalists', or the one final task
    (the baseline's best trial tested, or retrained)."""
    parts = {"trials": Energy.total(t.energy for t in trials)}
    if settled is not None:
        parts["finalists"] = settled.energy
    elif final is not None:
        parts["final"] = final.energy
    return RunEnergy(parts, config.energy)
