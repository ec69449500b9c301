"""summary.json, typed and with its JSON form both ways: a search's (``RunSummary``: what it ran, what it
found, what it cost) and a single training's (``TrainSummary``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from cords_tune.results.compression import Compression
from cords_tune.results.energy import EnergyRecord
from cords_tune.results.final import FinalResult
from cords_tune.results.finalist import FinalistRecord, RaceRecord
from cords_tune.results.records import known_fields
from cords_tune.results.shared_subset import SharedSubsetRecord
from cords_tune.results.slot_use import SlotUse
from cords_tune.results.study import StudyStore
from cords_tune.results.trial import TrialRecord

__all__ = ["RunSummary", "TrainSummary", "Timings", "TrialTotal", "TRIAL_TOTALS", "trial_totals"]

# Written together once a search has finished (a summary of an interrupted or failed search has none of them,
# and its slot use only where trials reported their marks: a resume adds its own to it).
_FINISHED_SEARCH = ("resumed", "optuna_study", "slot_use", "shared_subset")


@dataclass(frozen=True)
class TrialTotal:
    """A ``RunSummary`` field (and summary.json key) that totals a ``TrialRecord`` field over a search's trials.

    Attributes:
        key: the summary field.
        field: the trial field it totals.
        over_trials: ``sum``; ``count`` (the trials whose field is one of ``values``, or is true without
            them); ``distinct`` (how many different non-empty values); ``sorted`` (the values that are not
            ``None``, in order); ``share`` (the sum of ``field`` over the sum of ``of``; ``None`` where that is 0).
        values: for ``count``.
        of: for ``share``, the trial field it is a share of.
        row: where the CLI and report.md show it (their summary table's group of trial rows, or of tuning
            times); ``None``: not shown there.
        label: its row's label.
        unit: how its row shows the value: ``count``, ``seconds``, ``share`` (a percentage).
    """

    key: str
    field: str
    over_trials: Literal["sum", "count", "distinct", "sorted", "share"]
    values: tuple[Any, ...] = ()
    of: str | None = None
    row: Literal["trials", "times"] | None = None
    label: str = ""
    unit: Literal["count", "seconds", "share"] = "count"

    def of_trials(self, trials: Sequence[TrialRecord]) -> Any:
        """Its value over ``trials``."""
        values = [getattr(trial, self.field) for trial in trials]
        if self.over_trials == "sum":
            return sum(values)
        if self.over_trials == "count":
            return sum(value in self.values if self.values else bool(value) for value in values)
        if self.over_trials == "distinct":
            return len({value for value in values if value})
        if self.over_trials == "sorted":
            return sorted(value for value in values if value is not None)
        whole = sum(getattr(trial, self.of) for trial in trials)
        return sum(values) / whole if whole > 0 else None


_STARTED = ("completed", "stopped", "out_of_time", "diverged", "error")

# Each total of a search's trials its summary records, declared once: the runner's summary reads them all.
TRIAL_TOTALS: tuple[TrialTotal, ...] = (
    TrialTotal("trials_started", "status", "count", _STARTED),
    TrialTotal("trials_completed", "status", "count", ("completed",)),
    TrialTotal("trials_stopped_early", "status", "count", ("stopped",)),
    TrialTotal("trials_errored", "status", "count", ("error",)),
    TrialTotal("trials_diverged", "status", "count", ("diverged",)),
    TrialTotal("trials_retried", "restarts", "count", row="trials", label="trials retried from a checkpoint"),
    TrialTotal("trials_selection_fallback", "selection_fallback", "count", row="trials",
               label="trials that fell back to random subsets"),
    TrialTotal("selection_fallback_epochs", "selection_fallback_epoch", "sorted"),
    TrialTotal("selection_s_total", "selection_s", "sum", row="times", label="selection time, all trials",
               unit="seconds"),
    TrialTotal("selection_share", "selection_s", "share", of="wall_s", row="times",
               label="selection's share of the trials' time", unit="share"),
    TrialTotal("train_s_total", "train_s", "sum"),
    TrialTotal("eval_s_total", "eval_s", "sum"),
    TrialTotal("trial_wall_s_total", "wall_s", "sum"),
    TrialTotal("epochs_total", "epochs", "sum"),
    TrialTotal("nodes", "node", "distinct"),
)


def trial_totals(trials: Sequence[TrialRecord]) -> dict[str, Any]:
    """Every ``TRIAL_TOTALS`` field of a search with these trials, by key."""
    return {total.key: total.of_trials(trials) for total in TRIAL_TOTALS}


@dataclass(frozen=True)
class Timings:
    """Wall-clock seconds of a run's phases, on the driver; a phase the run did not go through is ``None``
    (and left out of its JSON form)."""

    data_load_s: float | None = None
    ray_start_s: float | None = None
    data_put_s: float | None = None  # the data into Ray's object store
    tuning_wall_s: float | None = None  # the search, first trial to last; a resumed one's over all its sessions
    shared_subset_s: float | None = None  # a shared strategy's proxy and selection, inside the search
    final_wall_s: float | None = None  # the finalists' full-data training, or the baseline's test or retrain

    def as_dict(self) -> dict[str, float]:
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> Timings:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class RunSummary:
    """One search of a run (the subset search, or the full-data baseline's): ``to_json`` is its
    ``summary.json``; ``from_json`` reads that back, also as written by earlier versions (what they lack is
    ``None``, an empty list or zero). ``best_metric`` is the file's ``best_<metric>``."""

    name: str
    seed: int
    dataset: str  # the data as described when loaded
    model: str
    strategy: str
    fraction: float
    metric: str
    mode: str  # max or min
    num_trials: int  # asked for
    trials_started: int = 0
    trials_completed: int = 0
    trials_stopped_early: int = 0
    trials_errored: int = 0
    trials_diverged: int = 0
    trials_retried: int = 0  # continued from a checkpoint after a failure, or after a resume
    trials_selection_fallback: int = 0  # switched to random subsets by the cost guard
    selection_fallback_epochs: list[int] = field(default_factory=list)
    best_trial_selection_fallback_epoch: int | None = None
    tuning_wall_s: float | None = None
    selection_s_total: float | None = None  # summed over trials, like the three below
    train_s_total: float | None = None
    eval_s_total: float | None = None
    trial_wall_s_total: float | None = None
    selection_share: float | None = None  # selection_s_total over trial_wall_s_total
    epochs_total: int = 0
    best_trial_id: str | None = None  # the finalist the full data picked, or the search's best
    best_config: dict[str, Any] | None = None  # its searched params
    best_metric: float | None = None  # its search metric while tuning
    best_val_accuracy: float | None = None
    final: FinalResult | None = None  # the final model, trained on the full data (or the baseline's, tested)
    classes: list[Any] | None = None  # the user's label of each class index: what the final model predicts
    finalists: list[FinalistRecord] = field(default_factory=list)
    subset_best_trial_id: str | None = None  # the search's own best trial, before the finalists
    timings: Timings = Timings()
    nodes: int = 0
    end_to_end_wall_s: float | None = None  # a resumed run's over all its sessions (those that wrote a summary)
    energy: EnergyRecord | None = None
    status: str | None = None  # ok, failed, interrupted, retrain_failed, waiting_for_resources
    notes: list[str] = field(default_factory=list)  # e.g. that the time budget ended the search
    resumed: bool | None = None  # None: the search did not finish (nor are optuna_study and shared_subset recorded)
    optuna_study: StudyStore | None = None
    slot_use: SlotUse | None = None  # so far, in an interrupted search's
    shared_subset: SharedSubsetRecord | None = None
    compression: Compression | None = None  # final.compress's variants of the final model
    race: RaceRecord | None = None  # the finalists' race on the full data: its rungs and cost
    device_s: float | None = None  # slot-seconds held by the search's trials and the finalists (a slot: a trial's resources)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        """summary.json's content."""
        # ``best_val_accuracy`` comes after ``best_<metric>``: for val_accuracy, the same key and the same value.
        return _json_form(self, key=lambda name: f"best_{self.metric}" if name == "best_metric" else name,
                          left_out=self._unrecorded())

    def _unrecorded(self) -> tuple[str, ...]:
        if self.resumed is not None:
            return ()
        return tuple(name for name in _FINISHED_SEARCH if name != "slot_use" or self.slot_use is None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSummary:
        def read(key: str, reader: Any) -> Any:
            return reader(data[key]) if data.get(key) is not None else None

        return cls(**known_fields(
            cls, data,
            selection_fallback_epochs=list(data.get("selection_fallback_epochs") or []),
            best_metric=data.get(f"best_{data.get('metric')}"),
            final=read("final", FinalResult.from_dict),
            finalists=[FinalistRecord.from_dict(f) for f in data.get("finalists") or []],
            timings=Timings.from_dict(data.get("timings") or {}),
            energy=read("energy", EnergyRecord.from_dict),
            optuna_study=read("optuna_study", StudyStore.from_dict),
            slot_use=read("slot_use", SlotUse.from_dict),
            shared_subset=read("shared_subset", SharedSubsetRecord.from_dict),
            compression=Compression.from_summary(data),
            race=read("race", RaceRecord.from_dict),
            notes=list(data.get("notes") or []),
        ))


@dataclass(frozen=True)
class TrainSummary:
    """What ``cords-tune train`` writes as summary.json (``to_json``, ``from_json``): one configuration trained
    once on the full data."""

    name: str
    seed: int
    dataset: str
    model: str
    model_params: dict[str, Any]
    final: FinalResult
    classes: list[Any] | None = None  # the user's label of each class index: what the model predicts
    timings: Timings = Timings()
    end_to_end_wall_s: float | None = None
    notes: list[str] = field(default_factory=list)  # what of the config training it once left unused
    status: str | None = None
    compression: Compression | None = None

    def to_json(self) -> dict[str, Any]:
        return _json_form(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainSummary:
        return cls(**known_fields(
            cls, data, model_params=dict(data.get("model_params") or {}), final=FinalResult.from_dict(data["final"]),
            timings=Timings.from_dict(data.get("timings") or {}), notes=list(data.get("notes") or []),
            compression=Compression.from_summary(data),
        ))


def _json_form(summary: Any, *, key: Any = lambda name: name, left_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A summary's fields under their JSON names (``key``), nested records as their dicts, the compression as
    its two entries."""
    data = {key(f.name): _plain(getattr(summary, f.name)) for f in fields(summary)
            if f.name not in left_out and f.name != "compression"}
    if summary.compression is not None:
        data.update(summary.compression.summary_entries())
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.as_dict() if hasattr(value, "as_dict") else value
