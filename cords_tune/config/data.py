"""The ``dataset`` and ``model`` sections: registered names (or data and a model given from Python) and their
parameters, checked against the registries."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from cords_tune.config.base import StrictModel

__all__ = ["DatasetConfig", "ModelConfig"]


class DatasetConfig(StrictModel):
    name: str = "mnist1d"
    params: dict[str, Any] = Field(default_factory=dict)
    val_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    data_dir: str = "~/.cache/cords-tune/data"
    augment: bool = True

    @model_validator(mode="after")
    def _known(self) -> DatasetConfig:
        from cords_tune.datasets import DATASETS
        from cords_tune.datasets.given import GIVEN, check_given_params

        if self.name == GIVEN:  # the data is given from Python (cords_tune.run(..., data=...))
            check_given_params(self.params)
            return self
        DATASETS.get(self.name, path="dataset.name")
        DATASETS.check_params(self.name, self.params, path="dataset.params")
        return self


class ModelConfig(StrictModel):
    name: str = "mlp"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> ModelConfig:
        from cords_tune.datasets.given import GIVEN
        from cords_tune.models import MODELS

        if self.name == GIVEN:  # the model is given from Python; its factory checks the params when it builds
            return self
        MODELS.get(self.name, path="model.name")
        MODELS.check_params(self.name, self.params, path="model.params")
        return self
