"""Tests of cords_tune/params.py: the parameter checks shared by datasets, models and strategies."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from cords_tune.errors import ConfigError
from cords_tune.params import ParamCheck

MODEL = ParamCheck("model", "m")


def _message(info: pytest.ExceptionInfo[ConfigError]) -> str:
    return str(info.value)


# -- message and path ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path"),
    [("dataset", "dataset.params.p"), ("model", "model.params.p"), ("strategy", "selection.params.p")],
)
def test_error_path_and_message_format(kind: str, path: str) -> None:
    error = ParamCheck(kind, "entry").error("p", "an integer >= 1", 64.5)
    assert isinstance(error, ConfigError)
    assert error.path == path
    assert str(error) == f"{path}: The 'p' parameter of {kind} 'entry' must be an integer >= 1. Got 64.5 instead."


def test_the_documented_examples() -> None:
    with pytest.raises(ConfigError) as info:
        ParamCheck("model", "mlp").integer("hidden", 64.5, low=1)
    assert info.value.path == "model.params.hidden"
    assert _message(info) == (
        "model.params.hidden: The 'hidden' parameter of model 'mlp' must be an integer >= 1. Got 64.5 instead."
    )
    with pytest.raises(ConfigError) as info:
        ParamCheck("dataset", "mnist1d").integer("num_samples", 3, low=20)
    assert info.value.path == "dataset.params.num_samples"
    assert _message(info) == (
        "dataset.params.num_samples: The 'num_samples' parameter of dataset 'mnist1d' must be an integer >= 20. "
        "Got 3 instead."
    )


def test_the_value_is_shown_with_its_repr() -> None:
    with pytest.raises(ConfigError, match=re.escape("Got '64' instead.")):
        MODEL.integer("hidden", "64")


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        ParamCheck("optimizer", "sgd")


# -- integer ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [64, 64.0, np.int64(64), np.float32(64.0), np.float64(64.0)])
def test_integer_accepts_integers_and_integral_floats(value: object) -> None:
    result = MODEL.integer("hidden", value, low=1)
    assert result == 64 and type(result) is int


@pytest.mark.parametrize("value", [64.5, True, False, np.bool_(True), "64", None, [64], math.nan, math.inf, -math.inf])
def test_integer_refuses_bools_non_integral_and_non_numbers(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        MODEL.integer("hidden", value)
    assert info.value.path == "model.params.hidden"
    assert _message(info) == (
        f"model.params.hidden: The 'hidden' parameter of model 'm' must be an integer. Got {value!r} instead."
    )


def test_integer_bounds_are_inclusive() -> None:
    assert MODEL.integer("depth", 0, low=0) == 0
    assert MODEL.integer("depth", 5, high=5) == 5
    assert MODEL.integer("depth", 3.0, low=3, high=3) == 3
    cases = [
        ({"low": 0}, -1, "an integer >= 0"),
        ({"low": 1}, 0.0, "an integer >= 1"),
        ({"high": 5}, 6, "an integer <= 5"),
        ({"low": 0, "high": 2**32 - 1}, 2**32, "an integer in [0, 4294967295]"),
        ({"low": 0, "high": 2**32 - 1}, -1, "an integer in [0, 4294967295]"),
    ]
    for bounds, value, requirement in cases:
        with pytest.raises(ConfigError) as info:
            MODEL.integer("depth", value, **bounds)
        assert _message(info).endswith(f"must be {requirement}. Got {value!r} instead."), (bounds, value)


def test_integer_bounds_apply_to_large_integral_floats() -> None:
    assert MODEL.integer("n", 1e15, low=0) == 10**15
    with pytest.raises(ConfigError, match=re.escape("an integer <= 1000000")):
        MODEL.integer("n", 1e7, high=10**6)


# -- number ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 0.5, np.float32(0.25), np.int64(1), 1])
def test_number_accepts_reals_in_a_closed_interval(value: object) -> None:
    result = MODEL.number("p", value, low=0.0, high=1.0)
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize(
    ("bounds", "requirement", "inside", "outside"),
    [
        ({"low": 0.0, "high": 1.0}, "a number in [0, 1]", [0.0, 1.0], [-0.01, 1.01]),
        ({"low": 0.0, "high": 1.0, "high_open": True}, "a number in [0, 1)", [0.0, 0.999], [1.0, -0.1]),
        ({"low": 0.0, "high": 1.0, "low_open": True}, "a number in (0, 1]", [1e-9, 1.0], [0.0, 1.5]),
        ({"low": 0.0, "high": 1.0, "low_open": True, "high_open": True}, "a number in (0, 1)", [0.5], [0.0, 1.0]),
        ({"low": 0.0}, "a number >= 0", [0.0, 1e9], [-1e-9]),
        ({"low": 0.0, "low_open": True}, "a number > 0", [1e-9], [0.0, -1.0]),
        ({"high": 2.5}, "a number <= 2.5", [2.5, -7.0], [2.6]),
        ({"high": 2.5, "high_open": True}, "a number < 2.5", [2.4], [2.5]),
        ({}, "a number", [-1e300, 0.0, 1e300], []),
    ],
)
def test_number_open_and_closed_bounds(bounds: dict, requirement: str, inside: list, outside: list) -> None:
    for value in inside:
        assert MODEL.number("p", value, **bounds) == value
    for value in outside:
        with pytest.raises(ConfigError) as info:
            MODEL.number("p", value, **bounds)
        assert info.value.path == "model.params.p"
        assert _message(info) == (
            f"model.params.p: The 'p' parameter of model 'm' must be {requirement}. Got {value!r} instead."
        )


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf"), 10**400, True, "0.5", None]
)
def test_number_refuses_nan_inf_bools_and_non_numbers(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        MODEL.number("p", value)
    assert _message(info) == f"model.params.p: The 'p' parameter of model 'm' must be a number. Got {value!r} instead."


# -- boolean ---------------------------------------------------------------------------------------------------


def test_boolean_accepts_only_bools() -> None:
    assert MODEL.boolean("flag", True) is True
    assert MODEL.boolean("flag", False) is False
    for value in (1, 0, "true", "yes", None, np.bool_(True)):
        with pytest.raises(ConfigError) as info:
            MODEL.boolean("flag", value)
        assert info.value.path == "model.params.flag"
        assert _message(info) == (
            f"model.params.flag: The 'flag' parameter of model 'm' must be true or false. Got {value!r} instead."
        )


# -- choice ----------------------------------------------------------------------------------------------------


def test_choice() -> None:
    check = ParamCheck("strategy", "s")
    assert check.choice("mode", "fast", ["fast", "slow"]) == "fast"
    assert check.choice("k", 2, (1, 2, 3)) == 2
    with pytest.raises(ConfigError) as info:
        check.choice("mode", "quick", ["fast", "slow"])
    assert info.value.path == "selection.params.mode"
    assert _message(info) == (
        "selection.params.mode: The 'mode' parameter of strategy 's' must be one of 'fast', 'slow'. "
        "Got 'quick' instead."
    )
    with pytest.raises(ConfigError, match=re.escape("must be one of 1, 2, 3. Got '2' instead.")):
        check.choice("k", "2", (1, 2, 3))
