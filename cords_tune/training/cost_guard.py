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

Plain torch, no Ray: measured by a Ray task in a tuning run (``tuning.selection_cost``), or here in a notebook.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cords_tune.atomic import write_atomically
from cords_tune.config import ExperimentConfig
from cords_tune.selection import STRATEGIES
from cords_tune.training.schedule import SubsetSchedule

if TYPE_CHECKING:
    from cords_tune.datasets import DataBundle
    from cords_tune.models import GivenModel

__all__ = ["CostForecast", "CycleCost", "forecast", "gradient_selections", "is_guarded", "measure_cycle_cost"]

log = logging.getLogger(__name__)


def is_guarded(config: ExperimentConfig) -> bool:
    """Whether the guard can switch ``config``'s trials to random subsets: a per-trial gradient-based strategy
    (a shared one selects once per run, before the trials) and ``selection.max_cost_share`` below 1."""
    strategy = STRATEGIES.get(config.selection.strategy)
    return strategy.needs_gradients and not strategy.shared and config.selection.max_cost_share < 1.0


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


@dataclass(frozen=True)
class CostForecast:
    """What a trial's gradient-based selections would cost, and the guard's decision.

    Attributes:
        selections: how many selections by gradients the trial makes (its first subset is random when it has no
            warm start: an untrained network's gradients say little).
        selection_s: their seconds, summed.
        share: the share of a selection cycle (one selection and ``every`` subset epochs) selection takes.
        falls_back: the trial trains on online random subsets instead: ``selection_s`` is above
            ``selection.min_cost_s`` and ``share`` above ``selection.max_cost_share``.
    """

    selections: int
    selection_s: float
    share: float
    falls_back: bool

    def reason(self, config: ExperimentConfig) -> str:
        selection = config.selection
        return (f"its {self.selections} selections by {selection.strategy} would take {self.selection_s:.2f}s "
                f"(over selection.min_cost_s, {selection.min_cost_s:g}s), {100 * self.share:.0f}% of each "
                f"{selection.every}-epoch cycle (over selection.max_cost_share, {100 * selection.max_cost_share:.0f}%)")


def gradient_selections(config: ExperimentConfig) -> int:
    """How many selections by gradients a trial of ``config`` makes over ``training.epochs``."""
    selection = config.selection
    strategy = STRATEGIES.get(selection.strategy)
    every = 1 if strategy.every_epoch else selection.every
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
    return CostForecast(selections=selections, selection_s=total, share=share, falls_back=falls_back)


def measure_cycle_cost(config: ExperimentConfig, data: DataBundle, model: GivenModel | None = None) -> CycleCost:
    """Measure ``config``'s selection cycle on ``data`` where this process trains: two subset epochs with
    validation (the second's times count; the first warms up), then two selections by the strategy from the
    trained network (the cheaper counts, so a one-off warm-up of the feature pass is not charged)."""
    from cords_tune.training.factory import build_trainer

    probe = config.model_copy(update={
        "training": config.training.model_copy(update={"epochs": 2, "validation": "every_epoch"}),
        "selection": config.selection.model_copy(update={"warm_start_epochs": 0, "every": 2}),
    })
    trainer = build_trainer(probe, data, model=model)  # both epochs train on its first, random, subset
    last = trainer.fit()[-1]
    strategy, times = trainer.strategy, []
    for _ in range(2):
        tick = _now(trainer)
        strategy.select(trainer.selection_context(with_gradients=True), trainer.budget)
        times.append(_now(trainer) - tick)
    cost = CycleCost(strategy=config.selection.strategy, selection_s=min(times), train_s=last.train_s,
                     eval_s=last.eval_s, device=str(trainer.device))
    log.info("selection cost of %s: %.3fs a selection, %.3fs a subset epoch, %.3fs a validation (%s)",
             cost.strategy, cost.selection_s, cost.train_s, cost.eval_s, cost.device)
    return cost


def _now(trainer: Any) -> float:
    if trainer.device.type == "cuda":
        import torch

        torch.cuda.synchronize(trainer.device)
    return time.perf_counter()
