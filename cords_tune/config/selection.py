"""The ``selection`` section: the subset strategy, its budget and schedule, and the proxy a shared strategy
scores the data with."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from cords_tune.config.base import StrictModel
from cords_tune.config.data import ModelConfig

__all__ = ["ProxyConfig", "SelectionConfig"]


class ProxyConfig(StrictModel):
    """The short training on the full data that a shared strategy (``cords-tune strategies``) scores the data
    with, once per run: the experiment's own settings (the values outside the search space), for ``epochs``.
    From it the strategy chooses one subset per reselection of a trial (every ``selection.every`` epochs),
    each from a fresh seeded random ``pool`` share of each class, so trials see new data as they train."""

    epochs: int = Field(5, ge=1, description="epochs the proxy trains on the full data before it scores the data")
    model: ModelConfig | None = Field(
        None, description="the proxy's network (name and params); default the experiment's model"
    )
    pool: float = Field(
        0.5, gt=0.0, le=1.0, description="the share of each class each round's subset is chosen from; 1: from all "
        "the data, so every round is the same static subset (as DeepCore selects)",
    )


class SelectionConfig(StrictModel):
    strategy: str = "random"
    fraction: float = Field(0.1, gt=0.0, le=1.0)
    every: int = Field(5, ge=1, description="reselect the subset every this many epochs")
    warm_start_epochs: int = Field(0, ge=0, description="epochs on the full data before the first subset")
    max_cost_share: float = Field(
        0.1, gt=0.0, le=1.0, description="most of a selection cycle's time selection may take; else online random"
    )
    min_cost_s: float = Field(
        5.0, ge=0.0, description="seconds a trial's selections may take in all before max_cost_share applies"
    )
    params: dict[str, Any] = Field(default_factory=dict)
    proxy: ProxyConfig = Field(default_factory=ProxyConfig)

    @model_validator(mode="after")
    def _known(self) -> SelectionConfig:
        from cords_tune.selection import STRATEGIES, create_strategy

        STRATEGIES.get(self.strategy, path="selection.strategy")
        create_strategy(self.strategy, self.params)  # strategies check their arguments at once
        return self
