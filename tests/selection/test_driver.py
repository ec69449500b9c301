"""The selection driver: a trial's subsets epoch by epoch, with the cost guard's fallback to online random subsets,
from plain values (no config, no training loop)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import torch

import cords_tune
from cords_tune.selection import CostForecast, SelectionContext, SelectionDriver, SelectionPlan, Subset
from cords_tune.selection.random import RandomStrategy

FALLS_BACK = CostForecast(selections=3, selection_s=30.0, share=0.5, falls_back=True, reason="it costs too much")


class _ByGradients:
    """A gradient-based stand-in: the first ``budget`` samples; counts its calls and checks it got gradients."""

    plan = SelectionPlan(reads=frozenset({"gradients"}))

    def __init__(self) -> None:
        self.epochs: list[int] = []

    def select(self, context: SelectionContext, budget: int) -> Subset:
        self.epochs.append(context.epoch)
        return Subset(torch.arange(budget), torch.ones(budget))


def _run(driver: SelectionDriver, epochs: int) -> list[tuple[str, bool]]:
    """What each epoch's selection was, and whether the trial had fallen back by then."""
    asked: list[bool] = []

    def context(with_gradients: bool, epoch: int) -> SelectionContext:
        asked.append(with_gradients)
        return SelectionContext(labels=torch.arange(40) % 4, num_classes=4, epoch=epoch, seed=0)

    return [(driver.subset_for(e, lambda g, e=e: context(g, e))[1], driver.fell_back) for e in range(epochs)]


def test_a_gradient_strategy_starts_random_without_a_warm_start():
    strategy = _ByGradients()
    driver = SelectionDriver(strategy, every=2, warm_start_epochs=0, budget=8)
    assert _run(driver, 6) == [("plain", False), ("", False), ("gradients", False), ("", False),
                               ("gradients", False), ("", False)]
    assert strategy.epochs == [2, 4] and driver.strategy is strategy


def test_the_guard_switches_to_random_at_the_first_selection_by_gradients(caplog):
    strategy = _ByGradients()
    driver = SelectionDriver(strategy, every=2, warm_start_epochs=0, budget=8, forecast=FALLS_BACK)
    with caplog.at_level(logging.INFO, logger="cords_tune.selection.driver"):
        steps = _run(driver, 6)
    assert steps == [("plain", False), ("", False), ("plain", True), ("", True), ("plain", True), ("", True)]
    assert strategy.epochs == [] and isinstance(driver.strategy, RandomStrategy)
    assert "online random subsets from epoch 3: it costs too much" in caplog.text


def test_after_a_warm_start_the_guard_acts_at_once():
    driver = SelectionDriver(_ByGradients(), every=2, warm_start_epochs=1, budget=8, forecast=FALLS_BACK)
    assert _run(driver, 3) == [("", False), ("plain", True), ("", True)]


def test_a_forecast_that_keeps_the_strategy_changes_nothing_and_other_plans_ignore_it():
    keeps = CostForecast(selections=2, selection_s=0.1, share=0.01, falls_back=False)
    strategy = _ByGradients()
    assert not any(fell for _, fell in _run(SelectionDriver(strategy, every=1, warm_start_epochs=1, budget=8,
                                                              forecast=keeps), 4))
    assert strategy.epochs == [1, 2, 3]
    random = SelectionDriver(RandomStrategy(), every=1, warm_start_epochs=0, budget=8, forecast=FALLS_BACK)
    assert random.forecast is None and not any(fell for _, fell in _run(random, 3))


def test_a_restored_driver_continues_with_its_subset_and_fallback():
    driver = SelectionDriver(_ByGradients(), every=3, warm_start_epochs=0, budget=8)
    kept = Subset(torch.tensor([5, 6]), torch.ones(2))
    driver.restore(kept, True)
    assert driver.subset_for(1, lambda g: None) == (kept, "")  # not due: the checkpoint's subset
    assert isinstance(driver.strategy, RandomStrategy)


def test_selection_imports_nothing_above_it():
    """selection/ knows nothing of config files, training loops, Ray or the run: its imports stay in the package
    and the modules below it."""
    allowed = {"selection", "params", "registry", "errors"}
    root = Path(cords_tune.__file__).parent / "selection"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                assert not name.startswith("ray"), path
                if name.startswith("cords_tune."):
                    assert name.split(".")[1] in allowed, f"{path.name} imports {name}"
