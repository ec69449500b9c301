"""The parameter rules of the model builders (checked through cords_tune.params.ParamCheck) and
``shape_error`` (cords_tune/models/base.py). ParamCheck itself is tested in tests/test_params.py."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from cords_tune.errors import ConfigError
from cords_tune.models import create_model
from cords_tune.models.base import shape_error

SHAPES = {"mlp": (40,), "cnn1d": (40,), "lenet": (1, 8, 8), "resnet18": (3, 8, 8)}

# (model, parameter, requirement as the message states it, accepted values, refused values)
RULES = [
    ("mlp", "hidden", "an integer >= 1",
     [1, 64.0, np.int64(8), np.float32(8.0)], [0, 64.5, True, "64", None, math.nan, math.inf, -3.0]),
    ("mlp", "depth", "an integer >= 0", [0, 2.0], [-1, 0.5, False]),
    ("mlp", "dropout", "a number in [0, 1)", [0, 0.0, 0.5, 0.99], [1.0, -0.1, math.nan, False, "0.5"]),
    ("cnn1d", "channels", "an integer >= 1", [1, 8.0], [0, 2.5, True]),
    ("cnn1d", "kernel_size", "an integer >= 1", [1, 5.0], [0, 1.5, True]),
    ("cnn1d", "dropout", "a number in [0, 1)", [0, 0.5], [1.0, -0.1, math.inf]),
    ("lenet", "width", "a number > 0", [0.5, 2], [0, -1.0, math.inf, True]),
    ("lenet", "dropout", "a number in [0, 1)", [0.0, 0.9], [1.0, -0.5, math.nan]),
    ("resnet18", "width", "an integer >= 1", [1, 2.0], [0, 1.5, True]),
    ("resnet18", "zero_init_residual", "true or false", [True, False], [1, 0, "true", None]),
]


@pytest.mark.parametrize(
    ("model", "param", "requirement", "accepted", "refused"), RULES, ids=[f"{m}.{p}" for m, p, *_ in RULES]
)
def test_builder_parameter_rules(model: str, param: str, requirement: str, accepted: list, refused: list) -> None:
    for value in accepted:
        create_model(model, input_shape=SHAPES[model], num_classes=3, params={param: value})
    for value in refused:
        with pytest.raises(ConfigError) as info:
            create_model(model, input_shape=SHAPES[model], num_classes=3, params={param: value})
        assert info.value.path == f"model.params.{param}"
        assert str(info.value) == (
            f"model.params.{param}: The {param!r} parameter of model {model!r} must be {requirement}. "
            f"Got {value!r} instead."
        )


def test_integral_floats_become_ints() -> None:
    model = create_model("mlp", input_shape=(40,), num_classes=3, params={"hidden": 64.0, "depth": 1.0})
    assert model.embedding_dim == 64 and type(model.embedding_dim) is int


def test_the_documented_message_for_a_non_integral_width() -> None:
    message = "The 'hidden' parameter of model 'mlp' must be an integer >= 1. Got 64.5 instead."
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_model("mlp", input_shape=(40,), num_classes=3, params={"hidden": 64.5})


def test_shape_error_says_what_is_needed_what_was_given_and_how_to_fix() -> None:
    error = shape_error("lenet", "image input of shape (C, H, W)", (40,), "Use 'mlp'.")
    assert error.path == "model.name"
    assert str(error) == (
        "model.name: model 'lenet' needs image input of shape (C, H, W); the dataset gives (40,). Use 'mlp'."
    )
