"""Model registry. Every model is a ``Classifier``: ``embed(x)`` gives penultimate features and ``head`` is
its last ``nn.Linear``.

A builder is registered with ``@MODELS.register(name)`` and has the signature
``builder(*, input_shape: tuple[int, ...], num_classes: int, **params) -> Classifier``.
"""

from __future__ import annotations

from typing import Any

from cords_tune.models.base import Classifier
from cords_tune.registry import Registry

__all__ = ["MODELS", "Classifier", "create_model", "list_models"]

MODELS: Registry = Registry("model", fixed=("input_shape", "num_classes"))


def list_models() -> list[str]:
    return MODELS.names()


def create_model(
    name: str, *, input_shape: tuple[int, ...], num_classes: int, params: dict[str, Any] | None = None
) -> Classifier:
    params = dict(params or {})
    MODELS.check_params(name, params, path="model.params")
    return MODELS.build(name, input_shape=tuple(input_shape), num_classes=num_classes, **params)


# Registering modules: imported for their side effect of filling MODELS.
from cords_tune.models import mlp, cnn1d, lenet, resnet  # noqa: E402,F401
