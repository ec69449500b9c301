"""Helpers shared by the dataset loaders: parameter checks with scikit-learn-style messages and a seeded,
stratified train/test split.

Every check raises ``ConfigError`` with ``path="dataset.params.<name>"`` and a message such as
"The 'num_samples' parameter of mnist1d must be an int >= 20. Got 3 instead."
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from cords_tune.errors import ConfigError

__all__ = ["param_error", "check_int", "check_float", "check_bool", "stratified_split"]


def param_error(dataset: str, name: str, requirement: str, value: object) -> ConfigError:
    """The ``ConfigError`` for parameter ``name`` of ``dataset`` that does not meet ``requirement``."""
    return ConfigError(
        f"The {name!r} parameter of {dataset} must be {requirement}. Got {value!r} instead.",
        path=f"dataset.params.{name}",
    )


def check_int(dataset: str, name: str, value: object, *, low: int, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]``, else raise ``ConfigError``."""
    requirement = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise param_error(dataset, name, requirement, value)
    if value < low or (high is not None and value > high):
        raise param_error(dataset, name, requirement, value)
    return int(value)


def check_float(
    dataset: str,
    name: str,
    value: object,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = True,
    high_open: bool = True,
) -> float:
    """Return ``value`` as a ``float`` if it is a finite number in the interval, else raise ``ConfigError``.

    The interval is ``(low, high)`` by default; ``low_open`` / ``high_open`` close either end.
    """
    if math.isinf(high):
        requirement = f"a number {'>' if low_open else '>='} {low:g}"
    else:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        requirement = f"a number in {left}{low:g}, {high:g}{right}"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise param_error(dataset, name, requirement, value)
    v = float(value)
    above = v > low if low_open else v >= low
    below = v < high if high_open else v <= high
    if not (above and below):
        raise param_error(dataset, name, requirement, value)
    return v


def check_bool(dataset: str, name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool``, else raise ``ConfigError`` (``"yes"`` or ``1`` are refused)."""
    if not isinstance(value, bool):
        raise param_error(dataset, name, "a bool (true or false)", value)
    return value


def stratified_split(
    dataset: str, x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(x, y)`` into train and test parts, stratified by label and seeded.

    Args:
        dataset: the dataset's registry name, for error messages.
        x, y: inputs and integer labels.
        test_fraction: share of the samples that go to the test split, in (0, 1).
        seed: seed of the shuffle; the same seed gives the same split.

    Returns:
        ``(x_train, y_train, x_test, y_test)``.

    Raises:
        ConfigError: ``test_fraction`` leaves fewer samples than classes in either split.
    """
    from sklearn.model_selection import train_test_split  # deferred: importing sklearn takes seconds

    num_classes = len(np.unique(y))
    num_test = math.ceil(test_fraction * len(y))  # how scikit-learn rounds test_size
    if num_test < num_classes or len(y) - num_test < num_classes:
        raise param_error(
            dataset,
            "test_fraction",
            f"large and small enough to leave at least {num_classes} samples (one per class) in both the "
            f"train and the test split of {len(y)} samples",
            test_fraction,
        )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=num_test, stratify=y, random_state=seed, shuffle=True
    )
    return x_train, y_train, x_test, y_test
