"""The ``tracking`` section: where each search's Optuna study is kept, and MLflow or Weights & Biases logging."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from cords_tune.config.base import StrictModel

__all__ = ["MlflowConfig", "TrackingConfig", "WandbConfig"]


class MlflowConfig(StrictModel):
    tracking_uri: str | None = Field(
        None, description="the MLflow tracking server or store, e.g. http://mlflow:5000 or file:///data/mlruns "
        "(default: MLflow's own, MLFLOW_TRACKING_URI or ./mlruns)"
    )
    experiment_name: str | None = Field(None, description="default: the experiment's name")


class WandbConfig(StrictModel):
    project: str = Field(..., min_length=1, description="the Weights & Biases project")
    entity: str | None = None
    group: str | None = Field(None, description="default: the run directory's name")
    mode: Literal["online", "offline", "disabled"] = "online"


class TrackingConfig(StrictModel):
    optuna_storage: str | None = Field(
        "sqlite",
        description="where the Optuna study of each search is kept: 'sqlite' (optuna.db in the run directory), an "
        "SQLAlchemy URL (e.g. postgresql://host/db), or null (in memory only)",
    )
    mlflow: MlflowConfig | None = Field(None, description="log every trial to MLflow (needs the mlflow package)")
    wandb: WandbConfig | None = Field(None, description="log every trial to Weights & Biases (needs wandb)")

    @field_validator("optuna_storage")
    @classmethod
    def _storage_url(cls, value: str | None) -> str | None:
        if value is None or value == "sqlite" or "://" in value:
            return value
        raise ValueError(f"must be 'sqlite', an SQLAlchemy URL such as sqlite:////abs/path/optuna.db or "
                         f"postgresql://host/db, or null. Got {value!r}")
