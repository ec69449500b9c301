"""What one selection by each strategy costs on an experiment's data: the records of a measurement
(``training.measure.measure_selection_costs``, for ``cords-tune strategies --measure``), and the figures measured
on the quickstart data that ship with the package (``costs.json``, written by
``benchmarks/bench_selection_cost.py``)."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

__all__ = ["SelectionCost", "MeasuredCosts", "recorded_costs", "this_machine"]


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


def recorded_costs() -> MeasuredCosts | None:
    """The costs measured on the quickstart data when this version was made (``None`` if the file is absent)."""
    try:
        text = resources.files("cords_tune.selection").joinpath("costs.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return MeasuredCosts.from_dict(json.loads(text))
