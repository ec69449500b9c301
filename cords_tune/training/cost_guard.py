"""The selection-cost guard: whether a trial of a gradient-based strategy trains on online random subsets instead,
because its selections would cost too much of its time.

The guard decides once per trial, before it trains, from its config and from costs measured once per run
(``CycleCost``: one selection, one subset epoch, one validation pass, on a trial's resources, before the search;
a tuning run keeps them in its directory as ``selection_cost.json``). Why a recorded measurement and not the
trial's own clock: a trial judging its wall-clock as it goes decides differently from run to run (and on a
loaded machine from trial to trial), so two runs with one seed trained different subsets; with the costs read
from the run directory, every trial, retry and resume of a run decides the same way, and which trials fall back
is a function of their configs. Why a measurement and not a cost model: what one selection costs against a
training epoch depends on the network, the device and the data (the feature pass at batch 1024 is far cheaper
per sample than a training step on a CPU, not on a GPU; Glister's greedy against GradMatch's OMP), so a model
fitted on the quickstart data can be wrong by more than the margin the guard draws; ``costs.json`` is used only
for the note ``validate`` gives before any data is loaded (``cords_tune.notes``).

The decision is ``forecast``; ``selection.SelectionDriver`` acts on it as the trial trains. The measurement is
``training.measure.measure_cycle_cost``: plain torch, no Ray, run by a Ray task in a tuning run
(``tuning.selection_cost``), or in a notebook.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cords_tune.atomic import write_atomically
from cords_tune.config import ExperimentConfig
from cords_tune.selection import CostForecast, plan_for
from cords_tune.selection.schedule import SubsetSchedule

__all__ = ["CostForecast", "CycleCost", "forecast", "gradient_selections", "is_guarded"]


def is_guarded(config: ExperimentConfig) -> bool:
    """Whether the guard can switch ``config``'s trials to random subsets: a per-trial gradient-based strategy
    (a shared one selects once per run, before the trials) and ``selection.max_cost_share`` below 1."""
    plan = plan_for(config.selection)
    return plan.needs_gradients and not plan.shared and config.selection.max_cost_share < 1.0


@dataclass(frozen=True)
class CycleCost:
    """What a selection cycle of a run's trials costs, measured once on a trial's resources with the experiment's
    own settings (the values outside the search space).

    Attributes:
        strategy: the strategy measured.
        selection_s: one selection by it, the gradient pass over the training data included (the cheaper of two).
        train_s: one epoch of training on a subset of ``selection.fraction``.
        eval_s: one validation pass.
        device: where it was measured (``cpu``, ``cuda:0``).
    """

    strategy: str
    selection_s: float
    train_s: float
    eval_s: float
    device: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CycleCost:
        return cls(**data)

    def save(self, path: Path) -> None:
        text = json.dumps(self.as_dict(), indent=1) + "\n"
        write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: Path) -> CycleCost:
        return cls.from_dict(json.loads(Path(path).read_text()))


def gradient_selections(config: ExperimentConfig) -> int:
    """How many selections by gradients a trial of ``config`` makes over ``training.epochs``."""
    selection = config.selection
    every = plan_for(selection).reselect_every(selection.every)
    rounds = SubsetSchedule(every, selection.warm_start_epochs).rounds(config.training.epochs)
    return max(0, rounds - (selection.warm_start_epochs == 0))


def forecast(config: ExperimentConfig, cost: CycleCost) -> CostForecast:
    """The guard's decision for a trial of ``config`` (its sampled values applied), from the run's ``cost``:
    no clock is read, so the same config and cost always decide the same way. A trial of another strategy than
    the one measured (``selection.strategy`` searched) keeps its strategy: nothing was measured for it."""
    selection = config.selection
    measured = cost.strategy == selection.strategy
    selections = gradient_selections(config) if is_guarded(config) and measured else 0
    epoch_s = cost.train_s + (cost.eval_s if config.training.validation == "every_epoch" else 0.0)
    cycle_s = cost.selection_s + selection.every * epoch_s
    share = cost.selection_s / cycle_s if cycle_s > 0 else 0.0
    total = selections * cost.selection_s
    falls_back = selections > 0 and total > selection.min_cost_s and share > selection.max_cost_share
    return CostForecast(selections=selections, selection_s=total, share=share, falls_back=falls_back,
                        reason=_reason(config, selections, total, share))


def _reason(config: ExperimentConfig, selections: int, selection_s: float, share: float) -> str:
    selection = config.selection
    return (f"its {selections} selections by {selection.strategy} would take {selection_s:.2f}s "
            f"(over selection.min_cost_s, {selection.min_cost_s:g}s), {100 * share:.0f}% of each "
            f"{selection.every}-epoch cycle (over selection.max_cost_share, {100 * selection.max_cost_share:.0f}%)")
