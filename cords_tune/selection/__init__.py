"""Subset selection strategies, one per module, registered by name.

A strategy is ``select(context, budget) -> Subset(indices, weights)`` and publishes a ``SelectionPlan`` (when it
selects, what it reads, per trial or shared, how its subsets are sized); a ``SelectionDriver`` calls it when due
(every R epochs, after an optional full-data warm start), with the cost guard's fallback, and the training loop
trains on the weighted subset it gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# The strategy modules are imported for their side effect of filling STRATEGIES.
from cords_tune.selection import craig, full, geometry, glister, gradmatch, infobatch, random, scores, submodular  # noqa: F401
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset, budget_for
from cords_tune.selection.driver import CostForecast, SelectionDriver
from cords_tune.selection.plan import FULL_DATA, SelectionPlan
from cords_tune.selection.registry import STRATEGIES

__all__ = [
    "FULL_DATA",
    "STRATEGIES",
    "CostForecast",
    "SelectionContext",
    "SelectionDriver",
    "SelectionPlan",
    "SelectionStrategy",
    "Subset",
    "budget_for",
    "create_strategy",
    "list_strategies",
    "plan_for",
    "plan_of",
]


def list_strategies() -> list[str]:
    return STRATEGIES.names()


class StrategyChoice(Protocol):
    """A strategy by name with its parameters: an experiment's ``selection`` section."""

    @property
    def strategy(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...


def plan_for(selection: StrategyChoice) -> SelectionPlan:
    """The plan a trial of ``selection`` trains by: that of its strategy built with its parameters, the one the
    ``SelectionDriver`` follows (a strategy's constructor may set its plan, or a flag of earlier versions)."""
    return create_strategy(selection.strategy, selection.params).plan


def plan_of(name: str) -> SelectionPlan:
    """The plan strategy ``name`` declares, before any parameters: what ``cords-tune strategies`` lists. What a
    run follows is ``plan_for(config.selection)``."""
    return STRATEGIES.get(name).plan


def create_strategy(name: str, params: dict[str, Any] | None = None) -> SelectionStrategy:
    params = dict(params or {})
    STRATEGIES.check_params(name, params, path="selection.params")
    return STRATEGIES.build(name, **params)

