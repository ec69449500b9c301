"""Subset selection strategies, one per module, registered by name.

A strategy is ``select(context, budget) -> Subset(indices, weights)``; the training loop decides when to
call it (every R epochs, after an optional full-data warm start) and trains on the weighted subset.
"""

from __future__ import annotations

from typing import Any

# The strategy modules are imported for their side effect of filling STRATEGIES.
from cords_tune.selection import craig, full, geometry, glister, gradmatch, infobatch, random, scores, submodular  # noqa: F401
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset, budget_for
from cords_tune.selection.registry import STRATEGIES

__all__ = [
    "STRATEGIES",
    "SelectionContext",
    "SelectionStrategy",
    "Subset",
    "budget_for",
    "create_strategy",
    "list_strategies",
    "uses_subsets",
]

def list_strategies() -> list[str]:
    return STRATEGIES.names()


def uses_subsets(name: str) -> bool:
    """Whether strategy ``name`` trains on subsets (``full`` does not)."""
    return STRATEGIES.get(name).uses_subsets


def create_strategy(name: str, params: dict[str, Any] | None = None) -> SelectionStrategy:
    params = dict(params or {})
    STRATEGIES.check_params(name, params, path="selection.params")
    return STRATEGIES.build(name, **params)

