"""Where a search's Optuna study lives: summary.json's ``optuna_study`` (the Tune callback that records it is
in ``cords_tune.tuning.tracking``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cords_tune.errors import ConfigError

__all__ = ["StudyStore"]


@dataclass(frozen=True)
class StudyStore:
    """Where one search's Optuna study lives: ``optuna.load_study(study_name=..., storage=url)`` opens it."""

    url: str
    study_name: str

    def open(self) -> Any:
        """The Optuna storage object.

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
        """summary.json's ``optuna_study``."""
        return {"storage": self.url, "study_name": self.study_name}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> StudyStore:
        return cls(url=data["storage"], study_name=data["study_name"])
