"""Measurements that train: a run's selection cycle for the cost guard (``measure_cycle_cost``), and what one
selection by each strategy costs on an experiment's data (``measure_selection_costs``, for ``cords-tune strategies
--measure`` and ``benchmarks/bench_selection_cost.py``; the records are ``selection.cost``'s). Plain torch, no Ray.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import replace

import torch

from cords_tune.config import ExperimentConfig
from cords_tune.datasets import DataBundle
from cords_tune.models import GivenModel
from cords_tune.selection import budget_for, create_strategy
from cords_tune.selection.cost import MeasuredCosts, SelectionCost, this_machine
from cords_tune.training.cost_guard import CycleCost
from cords_tune.training.factory import build_trainer
from cords_tune.training.proxy import train_proxy
from cords_tune.training.trainer import Trainer

__all__ = ["measure_cycle_cost", "measure_selection_costs"]

log = logging.getLogger(__name__)


def measure_cycle_cost(config: ExperimentConfig, data: DataBundle, model: GivenModel | None = None) -> CycleCost:
    """Measure ``config``'s selection cycle on ``data`` where this process trains: two subset epochs with
    validation (the second's times count; the first warms up), then two selections by the strategy from the
    trained network (the cheaper counts, so a one-off warm-up of the feature pass is not charged)."""
    probe = config.model_copy(update={
        "training": config.training.model_copy(update={"epochs": 2, "validation": "every_epoch"}),
        "selection": config.selection.model_copy(update={"warm_start_epochs": 0, "every": 2}),
    })
    trainer = build_trainer(probe, data, model=model)  # both epochs train on its first, random, subset
    last = trainer.fit()[-1]
    strategy, times = trainer.selection.strategy, []
    for _ in range(2):
        tick = _now(trainer)
        strategy.select(trainer.selection_context(with_gradients=True), trainer.selection.budget)
        times.append(_now(trainer) - tick)
    cost = CycleCost(strategy=config.selection.strategy, selection_s=min(times), train_s=last.train_s,
                     eval_s=last.eval_s, device=str(trainer.device))
    log.info("selection cost of %s: %.3fs a selection, %.3fs a subset epoch, %.3fs a validation (%s)",
             cost.strategy, cost.selection_s, cost.train_s, cost.eval_s, cost.device)
    return cost


def _now(trainer: Trainer) -> float:
    if trainer.device.type == "cuda":
        torch.cuda.synchronize(trainer.device)
    return time.perf_counter()


def measure_selection_costs(
    config: ExperimentConfig, data: DataBundle, strategies: list[str], *, repeats: int = 3
) -> MeasuredCosts:
    """Time one selection by each of ``strategies`` on ``data`` at ``config``'s fraction, on one torch thread (as
    a trial with one CPU has). Per-trial strategies select from a model trained one epoch on the full data;
    shared strategies from the proxy of ``selection.proxy`` (trained once here; its time is ``proxy_s``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        warm = build_trainer(config.model_copy(update={"training": config.training.model_copy(update={"epochs": 1})}),
                             data, full_data=True, decision_epochs=())
        warm.fit()
        tick = time.perf_counter()
        proxy, _ = train_proxy(config, data, keep_record=True)
        proxy_s = time.perf_counter() - tick
        budget = budget_for(config.selection.fraction, len(warm.train))
        costs = []
        for name in strategies:
            strategy = create_strategy(name)
            plan = strategy.plan
            if not plan.uses_subsets:
                continue
            trainer = proxy if plan.shared else warm
            times, size = [], 0
            for _ in range(repeats):
                tick = time.perf_counter()
                # The trainers' schedules ended with their one or few epochs (an lr of 0): a trial selects at its
                # configured lr.
                context = replace(trainer.selection_context(with_gradients=plan.needs_gradients, epoch=1,
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
