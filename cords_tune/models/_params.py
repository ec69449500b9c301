"""Argument checks shared by the model builders.

Builders receive parameters from YAML or from a hyperparameter search, so an integer may arrive as ``64.0``;
these helpers accept integral floats for integer parameters and turn everything else that is wrong into a
``ConfigError`` whose path points at the offending setting.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from cords_tune.errors import ConfigError

__all__ = ["check_bool", "check_fraction", "check_int", "check_positive", "shape_error"]


def _param_error(model: str, name: str, must: str, value: Any) -> ConfigError:
    return ConfigError(
        f"The {name!r} parameter of model {model!r} must be {must}. Got {value!r} instead.",
        path=f"model.params.{name}",
    )


def check_int(value: Any, *, model: str, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer (or an integral float) ``>= minimum``.

    Raises:
        ConfigError: ``value`` is a bool, not a number, not integral, or below ``minimum``.
    """
    must = f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _param_error(model, name, must, value)
    if not isinstance(value, numbers.Integral):
        if not (math.isfinite(value) and float(value).is_integer()):
            raise _param_error(model, name, must, value)
    result = int(value)
    if result < minimum:
        raise _param_error(model, name, must, value)
    return result


def _check_real(value: Any, *, model: str, name: str, must: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise _param_error(model, name, must, value)
    return float(value)


def check_fraction(value: Any, *, model: str, name: str) -> float:
    """Return ``value`` as a ``float`` in ``[0, 1)``, such as a dropout probability.

    Raises:
        ConfigError: ``value`` is not a finite real number in ``[0, 1)``.
    """
    must = "a number in [0, 1)"
    result = _check_real(value, model=model, name=name, must=must)
    if not 0.0 <= result < 1.0:
        raise _param_error(model, name, must, value)
    return result


def check_positive(value: Any, *, model: str, name: str) -> float:
    """Return ``value`` as a ``float > 0``, such as a width multiplier.

    Raises:
        ConfigError: ``value`` is not a finite real number above zero.
    """
    must = "a number > 0"
    result = _check_real(value, model=model, name=name, must=must)
    if result <= 0.0:
        raise _param_error(model, name, must, value)
    return result


def check_bool(value: Any, *, model: str, name: str) -> bool:
    """Return ``value`` if it is a ``bool``.

    Raises:
        ConfigError: ``value`` is anything else (``0``/``1`` and strings included).
    """
    if not isinstance(value, bool):
        raise _param_error(model, name, "true or false", value)
    return value


def shape_error(model: str, needs: str, input_shape: tuple[int, ...], hint: str) -> ConfigError:
    """The error for a dataset whose input shape ``model`` cannot take.

    Args:
        model: the model's registered name.
        needs: what the model takes, e.g. ``"image input of shape (C, H, W)"``.
        input_shape: the shape of one sample as the dataset gives it.
        hint: how to fix it, e.g. ``"Use 'mlp' or 'cnn1d' for vector input."``.
    """
    return ConfigError(
        f"model {model!r} needs {needs}; the dataset gives {tuple(input_shape)}. {hint}", path="model.name"
    )
