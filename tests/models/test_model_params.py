"""Tests of the argument checks shared by the model builders (cords_tune/models/_params.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cords_tune.errors import ConfigError
from cords_tune.models._params import check_bool, check_fraction, check_int, check_positive, shape_error


@pytest.mark.parametrize("value", [64, 64.0, np.int64(64), np.float32(64.0)])
def test_check_int_accepts_integers_and_integral_floats(value: object) -> None:
    result = check_int(value, model="m", name="hidden")
    assert result == 64 and type(result) is int


@pytest.mark.parametrize("value", [64.5, True, "64", None, math.nan, math.inf, 0, -3.0])
def test_check_int_rejects_the_rest(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        check_int(value, model="m", name="hidden")
    assert info.value.path == "model.params.hidden"
    assert str(info.value) == (
        f"model.params.hidden: The 'hidden' parameter of model 'm' must be an integer >= 1. Got {value!r} instead."
    )


def test_check_int_minimum() -> None:
    assert check_int(0, model="m", name="depth", minimum=0) == 0
    with pytest.raises(ConfigError, match=">= 0"):
        check_int(-1, model="m", name="depth", minimum=0)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 0.99])
def test_check_fraction_accepts_values_in_range(value: float) -> None:
    assert check_fraction(value, model="m", name="dropout") == value


@pytest.mark.parametrize("value", [1.0, -0.1, math.nan, False, "0.5"])
def test_check_fraction_rejects_the_rest(value: object) -> None:
    with pytest.raises(ConfigError, match=r"'dropout' parameter of model 'm' must be a number in \[0, 1\)"):
        check_fraction(value, model="m", name="dropout")


def test_check_positive() -> None:
    assert check_positive(0.5, model="m", name="width") == 0.5
    for value in (0, -1.0, math.inf, True):
        with pytest.raises(ConfigError, match="must be a number > 0"):
            check_positive(value, model="m", name="width")


def test_check_bool() -> None:
    assert check_bool(True, model="m", name="flag") is True
    for value in (1, "true", None):
        with pytest.raises(ConfigError, match="must be true or false"):
            check_bool(value, model="m", name="flag")


def test_shape_error_says_what_is_needed_what_was_given_and_how_to_fix() -> None:
    error = shape_error("lenet", "image input of shape (C, H, W)", (40,), "Use 'mlp'.")
    assert error.path == "model.name"
    assert str(error) == (
        "model.name: model 'lenet' needs image input of shape (C, H, W); the dataset gives (40,). Use 'mlp'."
    )
