"""The selection-cost guard: a gradient strategy's trial trains on online random subsets where the run's measured
costs say its selections would cost too much, decided from those costs and the trial's config, never a clock."""

from __future__ import annotations

import itertools
import logging
import time

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.selection import SelectionPlan, Subset
from cords_tune.selection.gradmatch import GradMatchStrategy
from cords_tune.selection.random import RandomStrategy
from cords_tune.training import Trainer, build_parts, build_trainer
from cords_tune.training import trainer as trainer_module
from cords_tune.training.cost_guard import CycleCost, forecast
from cords_tune.training.measure import measure_cycle_cost


class _Slow:
    """Picks the first samples, after ``delay`` seconds (a stand-in for an expensive selection)."""

    plan = SelectionPlan(reads=frozenset({"gradients"}))

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    def select(self, context, budget):
        self.calls += 1
        assert context.gradients is not None  # the loop builds gradients for such strategies
        time.sleep(self.delay)
        return Subset(indices=torch.arange(budget), weights=torch.ones(budget))


def _cost(selection_s: float, train_s: float = 0.01) -> CycleCost:
    return CycleCost(strategy="gradmatch", selection_s=selection_s, train_s=train_s, eval_s=0.0, device="cpu")


@pytest.fixture
def data(tmp_path):
    return load_dataset("synthetic", data_dir=tmp_path, seed=0, params={"num_samples": 600, "num_features": 8})


@pytest.fixture
def experiment(tiny_experiment):
    def make(**selection) -> object:
        return parse_config({
            **tiny_experiment,
            "training": {**tiny_experiment["training"], "epochs": 6},
            "selection": {"strategy": "gradmatch", "fraction": 0.3, "every": 2, **selection},
            "search": {"space": {}},
        })

    return make


@pytest.fixture
def trainer_factory(experiment, data):
    def make(cost: CycleCost | None, delay: float = 0.0, **selection) -> Trainer:
        config = experiment(**selection)
        parts = build_parts(config, data)
        parts.strategy = _Slow(delay)
        parts.cost_forecast = None if cost is None else forecast(config, cost)
        return Trainer(config, parts)

    return make


def test_expensive_selection_falls_back_to_random(trainer_factory, caplog):
    trainer = trainer_factory(_cost(selection_s=10.0))  # 2 selections, 20 s: above the 5-s floor and 10% a cycle
    slow = trainer.selection.strategy
    with caplog.at_level(logging.INFO, logger="cords_tune.selection.driver"):
        history = trainer.fit()
    # epoch 0: random (untrained model); epoch 2, its first selection by gradients: random from there on
    assert slow.calls == 0
    assert isinstance(trainer.selection.strategy, RandomStrategy)
    assert [s.selection_fallback for s in history] == [False, False, True, True, True, True]
    assert sum(s.reselected for s in history) == 3  # it still reselects, at random
    assert "online random subsets from epoch 3" in caplog.text and "over selection.min_cost_s" in caplog.text


def test_a_cheap_selection_never_falls_back_whatever_its_share(trainer_factory):
    # Selection is 83% of each cycle, but 0.02 s in all: below selection.min_cost_s, so the strategy is kept.
    trainer = trainer_factory(_cost(selection_s=0.01, train_s=0.001))
    assert trainer.selection.forecast.share > 0.8 and not trainer.selection.forecast.falls_back
    slow = trainer.selection.strategy
    history = trainer.fit()
    assert slow.calls == 2 and not any(s.selection_fallback for s in history)  # epochs 2 and 4
    floorless = trainer_factory(_cost(selection_s=0.01, train_s=0.001), min_cost_s=0.0)
    assert floorless.selection.forecast.falls_back, "without the floor the share alone decides"


def test_the_share_still_decides_above_the_floor(experiment):
    assert not forecast(experiment(), _cost(selection_s=10.0, train_s=60.0)).falls_back  # 8% of a cycle
    assert forecast(experiment(max_cost_share=0.05), _cost(selection_s=10.0, train_s=60.0)).falls_back
    assert not forecast(experiment(max_cost_share=1.0), _cost(selection_s=1e6)).falls_back  # 1.0 turns it off
    assert not forecast(experiment(every=6), _cost(selection_s=1e6)).falls_back  # never selects by gradients
    assert not forecast(experiment(strategy="glister"), _cost(selection_s=1e6)).falls_back  # not what was measured


def test_without_measured_costs_the_strategy_is_kept(trainer_factory):
    trainer = trainer_factory(None)
    slow = trainer.selection.strategy
    history = trainer.fit()
    assert slow.calls == 2 and not any(s.selection_fallback for s in history)


@pytest.mark.parametrize("cost", [_cost(selection_s=0.0), _cost(selection_s=10.0)], ids=["kept", "falls back"])
def test_the_decision_reads_no_clock(trainer_factory, monkeypatch, cost):
    """Two trainers of one seed decide and select the same, whatever the clock says: here it says each step of the
    one took 100 s (the old guard, judging wall-clock shares, switched that one to random)."""

    def run() -> tuple[list[bool], list[list[int]]]:
        trainer = trainer_factory(cost)
        subsets = []
        history = trainer.fit(on_epoch=lambda stats: subsets.append(trainer.subset.indices.tolist()))
        return [s.selection_fallback for s in history], subsets

    honest = run()
    ticks = itertools.count(step=100.0)
    monkeypatch.setattr(trainer_module.time, "perf_counter", lambda: next(ticks))
    assert run() == honest


def test_a_slow_selection_is_measured_and_falls_back(experiment, data, monkeypatch):
    """A genuinely expensive selection (GradMatch made 0.3 s slower) falls back: measured as a run measures it."""
    select = GradMatchStrategy.select

    def slow_select(self, context, budget):
        time.sleep(0.3)
        return select(self, context, budget)

    monkeypatch.setattr(GradMatchStrategy, "select", slow_select)
    config = experiment(min_cost_s=0.5)
    cost = measure_cycle_cost(config, data)
    assert cost.selection_s >= 0.3 and cost.train_s > 0 and cost.eval_s > 0 and cost.strategy == "gradmatch"
    trainer = build_trainer(config, data, selection_cost=cost)
    history = trainer.fit()
    assert [s.selection_fallback for s in history] == [False, False, True, True, True, True]


def test_with_a_warm_start_the_first_selection_uses_gradients(trainer_factory):
    trainer = trainer_factory(_cost(selection_s=0.0), warm_start_epochs=2)
    slow = trainer.selection.strategy
    history = trainer.fit()
    assert slow.calls == 2  # epochs 2 and 4, after two full-data epochs
    assert [s.reselected for s in history] == [False, False, True, False, True, False]
