"""Subset tuning against full-data tuning: ``Comparison`` is comparison.json, built from the two searches'
summaries (``build_comparison``); its section of report.md and its plot are in ``cords_tune.reports``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from cords_tune.results.device_time import device_time
from cords_tune.results.finalist import RaceRecord
from cords_tune.results.metrics import search_metric
from cords_tune.results.records import DictForm, known_fields

if TYPE_CHECKING:
    from cords_tune.results.energy import EnergyRecord
    from cords_tune.results.summary import RunSummary

__all__ = ["Comparison", "TrialTime", "build_comparison"]


@dataclass(frozen=True)
class TrialTime(DictForm):
    """Seconds summed over a search's trials: selection, training, evaluation, and the rest of each trial's
    wall-clock (building the model, reading the data, reporting and checkpointing)."""

    selection_s: float
    train_s: float
    eval_s: float
    other_s: float

    @classmethod
    def of(cls, summary: RunSummary) -> TrialTime:
        parts = (summary.selection_s_total, summary.train_s_total, summary.eval_s_total)
        return cls(*parts, other_s=max(0.0, summary.trial_wall_s_total - sum(parts)))


@dataclass(frozen=True)
class Comparison:
    """Subset tuning against the same search on the full data: ``to_json`` is comparison.json, ``from_json``
    reads it back (also as written by earlier versions: what they lack is ``None``). ``best_metric_subset`` and
    ``best_metric_full`` are the file's ``best_<metric>_subset`` and ``best_<metric>_full``; ``test_score_subset``
    and ``test_score_full``, the final models' test value of the search metric where it is neither accuracy nor
    loss, are its ``test_<name>_subset`` and ``test_<name>_full`` (``test_roc_auc_subset``)."""

    name: str
    dataset: str
    model: str
    strategy: str
    fraction: float
    seed: int
    metric: str
    mode: str
    num_trials: int
    tuning_wall_s_subset: float
    tuning_wall_s_full: float
    tuning_speedup: float  # full over subset, as every ratio here
    final_retrain_wall_s_subset: float
    end_to_end_wall_s_subset: float
    end_to_end_wall_s_full: float
    end_to_end_speedup: float
    # Slot-seconds each side held (its summary.json's ``device_s``): None from a summary written before they were.
    device_s_subset: float | None = None
    device_s_full: float | None = None
    device_speedup: float | None = None
    final_device_s_subset: float | None = None  # the part of ``device_s_subset`` its finalists held
    final_device_s_full: float | None = None  # the part its best trial's test (or retrain) held
    energy_kwh_subset: float | None = None  # None: a summary written before energy was recorded
    energy_kwh_full: float | None = None
    energy_saving: float | None = None
    co2e_kg_subset: float | None = None
    co2e_kg_full: float | None = None
    energy_source_subset: str | None = None
    energy_source_full: str | None = None
    full_best_trial_retrained: bool = True
    test_accuracy_subset: float | None = None
    test_accuracy_full: float | None = None
    accuracy_delta: float | None = None
    test_score_subset: float | None = None
    test_score_full: float | None = None
    # What the subset pick gives up against the full-data pick, both as trained on the full data
    # (positive: worse; ``regret_val_score`` is None for summaries written before final models recorded both scores).
    regret_val_score: float | None = None
    regret_test_accuracy: float | None = None
    finalists_subset: int = 0
    finalists_changed_pick: bool = False
    best_metric_subset: float | None = None
    best_metric_full: float | None = None
    best_config_subset: dict[str, Any] | None = None
    best_config_full: dict[str, Any] | None = None
    epochs_total_subset: int | None = None
    epochs_total_full: int | None = None
    trial_time_subset: TrialTime | None = None
    trial_time_full: TrialTime | None = None
    race_subset: RaceRecord | None = None  # the subset side's finalists' race on the full data, rung by rung
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """comparison.json's content."""
        data = {}
        tuned = search_metric(self.metric)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("test_score_") and not tuned.from_logits:
                continue
            key = f.name.replace("best_metric_", f"best_{self.metric}_").replace("test_score_", f"{tuned.test_key}_")
            data[key] = value.as_dict() if isinstance(value, (TrialTime, RaceRecord)) else value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        metric = data.get("metric")
        test_key = search_metric(metric).test_key if metric else None

        def trial_time(key: str) -> TrialTime | None:
            return TrialTime.from_dict(data[key]) if data.get(key) else None

        return cls(**known_fields(
            cls, data,
            best_metric_subset=data.get(f"best_{metric}_subset"), best_metric_full=data.get(f"best_{metric}_full"),
            test_score_subset=data.get(f"{test_key}_subset"), test_score_full=data.get(f"{test_key}_full"),
            trial_time_subset=trial_time("trial_time_subset"), trial_time_full=trial_time("trial_time_full"),
            race_subset=RaceRecord.from_dict(data["race_subset"]) if data.get("race_subset") else None,
            notes=list(data.get("notes") or []),
        ))


def build_comparison(subset: RunSummary, full: RunSummary, *, dropped: list[str] = ()) -> Comparison:
    """The comparison of two run summaries: the subset search (with its finalists' full-data training) and the same search
    on the full data (whose best trial was tested as it stands, or retrained if ASHA had stopped it).

    Wall-clock times are the driver's: a search from its first trial to its last, a retrain from
    submitting its task to its result. Loading data and starting Ray are shared and in neither.
    """
    sub_final, full_final = subset.final, full.final
    metric = subset.metric
    test_key = search_metric(metric).test_key
    sign = 1.0 if subset.mode == "max" else -1.0
    finalists = subset.finalists
    retrain_s = subset.timings.final_wall_s
    full_retrained = full_final.retrained
    tuning_sub, tuning_full = subset.tuning_wall_s, full.tuning_wall_s
    end_to_end_sub = tuning_sub + retrain_s
    end_to_end_full = tuning_full + (full.timings.final_wall_s if full_retrained else 0.0)
    notes = [
        "end_to_end_speedup sets subset tuning plus the full-data training of its "
        + (f"{len(finalists)} finalists" if len(finalists) > 1 else "best configuration") + " against "
        "full-data tuning alone: the best full-data trial has trained on the full data already"
        + (", except that ASHA had stopped it early, so it was retrained and that time is counted"
           if full_retrained else ", so it is tested as it stands"),
        "loading the data and starting Ray happen once, before both searches, and are in neither time",
    ]
    resumed = [side for side, summary in (("subset", subset), ("full-data", full)) if summary.resumed]
    if resumed:
        notes.append(f"the {' and '.join(resumed)} search was resumed after an interruption: its wall-clock adds the "
                     "sessions before the resume (not the time of a driver killed outright, which recorded none), "
                     "so the speedups are not a clean measurement")
    if len(finalists) > 1:
        notes.append(f"the subset side's final model is, of its top {len(finalists)} configurations each trained "
                     "on the full data, the one with the best validation score")
    if dropped:
        notes.append(f"the full-data search does not search {', '.join(dropped)} (subset parameters)")
    comparison = Comparison(
        name=subset.name,
        dataset=subset.dataset,
        model=subset.model,
        strategy=subset.strategy,
        fraction=subset.fraction,
        seed=subset.seed,
        metric=subset.metric,
        mode=subset.mode,
        num_trials=subset.num_trials,
        tuning_wall_s_subset=tuning_sub,
        tuning_wall_s_full=tuning_full,
        tuning_speedup=tuning_full / tuning_sub,
        final_retrain_wall_s_subset=retrain_s,
        end_to_end_wall_s_subset=end_to_end_sub,
        end_to_end_wall_s_full=end_to_end_full,
        end_to_end_speedup=end_to_end_full / end_to_end_sub,
        **_device_time(subset, full),
        full_best_trial_retrained=full_retrained,
        test_accuracy_subset=sub_final.test_accuracy,
        test_accuracy_full=full_final.test_accuracy,
        accuracy_delta=sub_final.test_accuracy - full_final.test_accuracy,
        test_score_subset=sub_final.score(test_key),
        test_score_full=full_final.score(test_key),
        regret_val_score=_regret(sign, full_final.score(metric), sub_final.score(metric)),
        regret_test_accuracy=full_final.test_accuracy - sub_final.test_accuracy,
        finalists_subset=len(finalists),
        finalists_changed_pick=bool(finalists) and subset.subset_best_trial_id != subset.best_trial_id,
        best_metric_subset=subset.best_metric,
        best_metric_full=full.best_metric,
        best_config_subset=subset.best_config,
        best_config_full=full.best_config,
        epochs_total_subset=subset.epochs_total,
        epochs_total_full=full.epochs_total,
        trial_time_subset=TrialTime.of(subset),
        trial_time_full=TrialTime.of(full),
        race_subset=subset.race,
        notes=notes,
        **_energy(subset.energy, full.energy),
    )
    return replace(comparison, notes=[*notes, *_device_note(comparison), _energy_note(comparison)])


def _device_time(subset: RunSummary, full: RunSummary) -> dict[str, float | None]:
    """``Comparison``'s device-seconds: each side's ``device_s`` (``None`` from a summary written before it was
    recorded), its final trainings' part, and the ratio full over subset."""
    held_sub, held_full = subset.device_s, full.device_s
    final_sub, final_full = (_final_device_s(side) for side in (subset, full))
    return {"device_s_subset": held_sub, "device_s_full": held_full,
            "device_speedup": held_full / held_sub if held_sub and held_full is not None else None,
            "final_device_s_subset": final_sub, "final_device_s_full": final_full}


def _final_device_s(summary: RunSummary) -> float | None:
    held = device_time(summary) if summary.device_s is not None else None
    return held.final_s if held else None


def _device_note(comparison: Comparison) -> list[str]:
    if comparison.device_speedup is None:
        return []
    return ["device_speedup is the full-data side's device-seconds over the subset side's: the slot-seconds (a slot: "
            "one trial's resources) held by each search's trials and by its final trainings (the subset side's "
            "finalists; the full-data side's test of its best trial, or its retrain), whatever the cluster's size"]


def _energy(subset: EnergyRecord | None, full: EnergyRecord | None) -> dict[str, Any]:
    """``Comparison``'s energy fields: both sides' energy (``None`` from a summary written before it was
    recorded) and ``energy_saving``, full over subset as the speedups are."""
    def side(energy: EnergyRecord | None, name: str) -> Any:
        return getattr(energy, name) if energy else None

    kwh_sub, kwh_full = side(subset, "kwh"), side(full, "kwh")
    return {
        "energy_kwh_subset": kwh_sub,
        "energy_kwh_full": kwh_full,
        "energy_saving": kwh_full / kwh_sub if kwh_sub and kwh_full is not None else None,
        "co2e_kg_subset": side(subset, "co2e_kg"),
        "co2e_kg_full": side(full, "co2e_kg"),
        "energy_source_subset": side(subset, "source"),
        "energy_source_full": side(full, "source"),
    }


def _energy_note(comparison: Comparison) -> str:
    if comparison.energy_saving is None:
        return "energy_saving is missing: a summary written before energy was recorded has no energy figure"
    sources = {comparison.energy_source_subset, comparison.energy_source_full}
    how = (" (estimated: the seconds each trial or task held its CPUs and GPUs times the configured watts, so the "
           "saving follows resource-seconds, not the wall-clock)") if sources == {"estimated"} else ""
    return ("energy_saving is the full-data side's energy over the subset side's: the subset search's trials and "
            "the full-data training of its final model against the full-data search's trials and the test (or "
            f"retrain) of its best model, each as its summary.json counts it{how}")


def _regret(sign: float, full: float | None, subset: float | None) -> float | None:
    return None if full is None or subset is None else sign * (full - subset)
