"""The ``search`` section: the space, the number of trials, the searcher, the metric and ASHA's rungs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cords_tune.config.base import StrictModel
from cords_tune.config.domain import Domain, domain_input, flatten_space
from cords_tune.results.metrics import SEARCH_METRICS, search_metric

__all__ = ["AshaConfig", "SearchConfig"]


class AshaConfig(StrictModel):
    enabled: bool = True
    grace_period: int = Field(2, ge=1, description="epochs every trial runs before it can be stopped")
    reduction_factor: float = Field(3.0, gt=1.0)


class SearchConfig(StrictModel):
    space: dict[str, Domain] = Field(default_factory=dict)
    num_trials: int = Field(16, ge=1)
    algorithm: Literal["tpe", "random"] = "tpe"
    metric: Literal[SEARCH_METRICS] = Field("val_accuracy", description="declared in cords_tune.results.metrics")
    mode: Literal["max", "min"] | None = Field(None, description="default: min for val_loss, else max")
    max_concurrent_trials: int | None = Field(None, ge=1, description="default: as many as resources allow")
    time_budget_s: float | None = Field(
        None, gt=0.0, description="stop starting trials after this many seconds of search (running ones finish "
        "their epoch), then train the finalists; null: run every trial",
    )
    asha: AshaConfig = Field(default_factory=AshaConfig)

    @field_validator("space", mode="before")
    @classmethod
    def _parse_space(cls, raw: Any) -> Any:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise ValueError(f"must be a mapping of parameter paths to domains. Got {type(raw).__name__}")
        return {path: domain_input(path, spec) for path, spec in flatten_space(raw).items()}

    @field_validator("metric", mode="before")
    @classmethod
    def _known_metric(cls, value: Any) -> Any:
        if isinstance(value, str):
            search_metric(value)  # unknown: its error names the choices, and the closest one
        return value

    @model_validator(mode="after")
    def _default_mode(self) -> SearchConfig:
        if self.mode is None:
            self.mode = search_metric(self.metric).mode
        return self
