"""Where a search is recorded besides the run directory: the Optuna study, in a storage the user can open
(``optuna.load_study``, optuna-dashboard), and every trial in MLflow or Weights & Biases through Ray Tune's own
logger callbacks. Tune's TensorBoard files are written as always, under the run's ``tune/`` folder."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig
from cords_tune.errors import ConfigError

__all__ = ["OPTUNA_FILE", "StudyStore", "study_store", "logger_callbacks", "check_tracking"]

OPTUNA_FILE = "optuna.db"  # the default study storage, in the folder of the search's summary.json


@dataclass(frozen=True)
class StudyStore:
    """Where one search's Optuna study lives: ``optuna.load_study(study_name=..., storage=url)`` opens it."""

    url: str
    study_name: str

    def open(self) -> Any:
        """The Optuna storage object the searcher writes to.

        Raises:
            ConfigError: the URL cannot be opened (a driver that is not installed, a server that is down).
        """
        import optuna

        try:
            return optuna.storages.RDBStorage(self.url)
        except Exception as error:  # noqa: BLE001 - SQLAlchemy and its drivers raise many kinds
            raise ConfigError(
                f"cannot open the Optuna storage {self.url!r}: {type(error).__name__}: {error}. Give a URL that "
                "SQLAlchemy can open (its driver installed), 'sqlite' for a file in the run directory, or null",
                path="tracking.optuna_storage",
            ) from None

    def as_dict(self) -> dict[str, str]:
        return {"storage": self.url, "study_name": self.study_name}


def study_store(config: ExperimentConfig, folder: Path, name: str) -> StudyStore | None:
    """The study store of the search whose files go into ``folder``; the study is called ``name`` (the run
    directory's name, ``-baseline`` added for the full-data search), unique in a storage shared by many runs."""
    url = config.tracking.optuna_storage
    if url is None or not config.search.space:
        return None
    if url == "sqlite":
        Path(folder).mkdir(parents=True, exist_ok=True)  # the baseline's folder is made by its search
        url = f"sqlite:///{Path(folder).resolve() / OPTUNA_FILE}"
    return StudyStore(url=url, study_name=name)


def check_tracking(config: ExperimentConfig) -> None:
    """Fail before anything starts when a tracking backend the experiment asks for is not installed."""
    for section, module, extra in (("mlflow", "mlflow", "mlflow"), ("wandb", "wandb", "wandb")):
        if getattr(config.tracking, section) is not None and importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"tracking.{section} needs the {module} package, which is not installed. Install it (pip install "
                f"'cords-tune[{extra}]'), or remove tracking.{section}", path=f"tracking.{section}"
            )


def logger_callbacks(config: ExperimentConfig, run_name: str, phase: str) -> list[Any]:
    """Tune callbacks that log every trial's config and per-epoch results where ``tracking`` says."""
    check_tracking(config)
    callbacks: list[Any] = []
    mlflow = config.tracking.mlflow
    if mlflow is not None:
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        callbacks.append(MLflowLoggerCallback(
            tracking_uri=mlflow.tracking_uri,
            experiment_name=mlflow.experiment_name or config.name,
            tags={"cords_tune.run": run_name, "cords_tune.phase": phase},
        ))
    wandb = config.tracking.wandb
    if wandb is not None:
        from ray.air.integrations.wandb import WandbLoggerCallback

        callbacks.append(WandbLoggerCallback(
            project=wandb.project, entity=wandb.entity, group=wandb.group or run_name, mode=wandb.mode,
            job_type=phase,
        ))
    return callbacks
