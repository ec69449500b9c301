"""Tests specific to cords_tune/models/mlp.py (the shared contract is in test_model_conformance.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cords_tune.errors import ConfigError
from cords_tune.models import create_model


def test_flattens_any_input_shape() -> None:
    model = create_model("mlp", input_shape=(3, 4, 5), num_classes=7, params={"hidden": 16})
    assert model(torch.randn(2, 3, 4, 5)).shape == (2, 7)
    assert model.embedding_dim == 16


def test_depth_counts_hidden_layers_and_zero_is_logistic_regression() -> None:
    deep = create_model("mlp", input_shape=(40,), num_classes=10, params={"depth": 3, "hidden": 8})
    assert sum(isinstance(m, nn.Linear) for m in deep.modules()) == 4
    linear = create_model("mlp", input_shape=(2, 20), num_classes=10, params={"depth": 0})
    assert list(linear.parameters()) == list(linear.head.parameters())
    assert linear.embedding_dim == 40


def test_dropout_is_active_in_training_only() -> None:
    model = create_model("mlp", input_shape=(40,), num_classes=10, params={"dropout": 0.5})
    x = torch.randn(4, 40)
    model.eval()
    torch.testing.assert_close(model.embed(x), model.embed(x))
    model.train()
    torch.manual_seed(0)
    assert not torch.equal(model.embed(x), model.embed(x))


@pytest.mark.parametrize("params", [{"hidden": 0}, {"depth": -1}, {"dropout": 1.0}])
def test_out_of_range_params_are_rejected(params: dict[str, float]) -> None:
    (key,) = params
    with pytest.raises(ConfigError, match=key):
        create_model("mlp", input_shape=(40,), num_classes=10, params=params)


@pytest.mark.parametrize("shape", [(), (0, 4)])
def test_empty_input_is_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        create_model("mlp", input_shape=shape, num_classes=10)
    assert info.value.path == "model.name"
