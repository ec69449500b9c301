"""The selection strategy registry. A strategy class or builder is registered with
``@STRATEGIES.register(name)``; calling it with the strategy's parameters gives a ``SelectionStrategy``."""

from __future__ import annotations

from cords_tune.registry import Registry

__all__ = ["STRATEGIES"]

STRATEGIES: Registry = Registry("strategy")
