"""Models, built by name from the registry (``cords_tune.models.registry``) or given from Python. Every model
is a ``Classifier``: ``embed(x)`` gives penultimate features and ``head`` is its last ``nn.Linear``.
"""

from __future__ import annotations

from typing import Any

from cords_tune.datasets.given import GIVEN
from cords_tune.errors import ConfigError

# The model modules are imported for their side effect of filling MODELS.
from cords_tune.models import cnn1d, lenet, mlp, resnet  # noqa: F401
from cords_tune.models.base import Classifier
from cords_tune.models.given import GivenModel
from cords_tune.models.registry import MODELS

__all__ = ["MODELS", "Classifier", "GivenModel", "build_model", "create_model", "list_models"]


def list_models() -> list[str]:
    return MODELS.names()


def create_model(
    name: str, *, input_shape: tuple[int, ...], num_classes: int, params: dict[str, Any] | None = None
) -> Classifier:
    params = dict(params or {})
    MODELS.check_params(name, params, path="model.params")
    return MODELS.build(name, input_shape=tuple(input_shape), num_classes=num_classes, **params)


def build_model(
    name: str, params: dict[str, Any], *, input_shape: tuple[int, ...], num_classes: int, given: GivenModel | None = None
) -> Classifier:
    """The model an experiment asks for: ``given`` (a model passed from Python) when there is one, else the
    registry's ``name``.

    Raises:
        ConfigError: the experiment's model is given from Python (``name: python``) but none was passed, or
            the model cannot be built with these parameters for this input shape.
    """
    if given is not None:
        return given.build(input_shape, num_classes, params)
    if name == GIVEN:
        raise ConfigError(
            "the experiment's model is given from Python (model.name: python), but no model was passed. Pass the "
            "same factory again (cords_tune.run(experiment, model=...), cords_tune.load_model(path, model=...)), "
            "or name a registered model", path="model.name"
        )
    return create_model(name, input_shape=input_shape, num_classes=num_classes, params=params)

