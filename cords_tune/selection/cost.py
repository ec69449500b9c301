"""What one selection by each strategy costs on an experiment's data, measured here and now (for
``cords-tune strategies --measure``), and the figures measured on the quickstart data that ship with the
package (``costs.json``, written by ``benchmarks/bench_selection_cost.py``)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, replace
from importlib import resources
from typing import Any

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle

__all__ = ["SelectionCost", "MeasuredCosts", "measure_selection_costs", "recorded_costs"]


@dataclass(frozen=True)
class SelectionCost:
    """One selection by ``strategy`` at the experiment's fraction: median seconds over ``repeats``, from a model
    trained for one epoch on the full data (the forward pass for features is part of the cost)."""

    strategy: str
    seconds: float
    repeats: int
    size: int  # samples in the subset it chose


@dataclass(frozen=True)
class MeasuredCosts:
    """Selection costs on one experiment's data, with what they were measured on.

    ``proxy_s``: training the proxy of the shared strategies (``selection.proxy.epochs`` epochs on the full
    data), which a tuning run pays once before its trials, on top of the shared strategy's one selection.
    """

    experiment: str
    samples: int
    fraction: float
    proxy_epochs: int
    proxy_s: float
    machine: str
    costs: list[SelectionCost]

    def cost_of(self, strategy: str) -> SelectionCost | None:
        return next((cost for cost in self.costs if cost.strategy == strategy), None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasuredCosts:
        return cls(**{**data, "costs": [SelectionCost(**cost) for cost in data["costs"]]})


def this_machine() -> str:
    import torch

    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__.split('+')[0]}, 1 torch thread")


def measure_selection_costs(
    config: ExperimentConfig, data: DataBundle, strategies: list[str], *, repeats: int = 3
) -> MeasuredCosts:
    """Time one selection by each of ``strategies`` on ``data`` at ``config``'s fraction, on one torch thread (as
    a trial with one CPU has). Per-trial strategies select from a model trained one epoch on the full data;
    shared strategies from the proxy of ``selection.proxy`` (trained once here; its time is ``proxy_s``)."""
    import torch

    from cords_tune.selection import budget_for, create_strategy
    from cords_tune.training.factory import build_trainer
    from cords_tune.training.proxy import proxy_config

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        warm = build_trainer(config.model_copy(update={"training": config.training.model_copy(update={"epochs": 1})}),
                             data, full_data=True, decision_epochs=())
        warm.fit()
        tick = time.perf_counter()
        proxy = build_trainer(proxy_config(config), data, full_data=True, decision_epochs=(), keep_record=True)
        proxy.fit()
        proxy_s = time.perf_counter() - tick
        budget = budget_for(config.selection.fraction, len(warm.train))
        costs = []
        for name in strategies:
            strategy = create_strategy(name)
            if not strategy.uses_subsets:
                continue
            trainer = proxy if strategy.shared else warm
            times, size = [], 0
            for _ in range(repeats):
                tick = time.perf_counter()
                # The trainers' schedules ended with their one or few epochs (an lr of 0): a trial selects at its
                # configured lr.
                context = replace(trainer.selection_context(with_gradients=strategy.needs_gradients, epoch=1,
                                                            epochs=config.training.epochs),
                                  learning_rate=config.training.lr, record=proxy.record)
                size = len(strategy.select(context, budget))
                times.append(time.perf_counter() - tick)
            costs.append(SelectionCost(name, statistics.median(times), repeats, size))
    finally:
        torch.set_num_threads(threads)
    return MeasuredCosts(
        experiment=config.name, samples=len(warm.train), fraction=config.selection.fraction,
        proxy_epochs=config.selection.proxy.epochs, proxy_s=proxy_s, machine=this_machine(), costs=costs,
    )


def recorded_costs() -> MeasuredCosts | None:
    """The costs measured on the quickstart data when this version was made (``None`` if the file is absent)."""
    try:
        text = resources.files("cords_tune.selection").joinpath("costs.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return MeasuredCosts.from_dict(json.loads(text))
