"""The model registry. A builder is registered with ``@MODELS.register(name)`` and has the signature
``builder(*, input_shape: tuple[int, ...], num_classes: int, **params) -> Classifier``."""

from __future__ import annotations

from cords_tune.registry import Registry

__all__ = ["MODELS"]

MODELS: Registry = Registry("model", fixed=("input_shape", "num_classes"))
