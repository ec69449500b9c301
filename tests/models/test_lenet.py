"""Tests specific to cords_tune/models/lenet.py (the shared contract is in test_model_conformance.py)."""

from __future__ import annotations

import pytest
import torch

from cords_tune.errors import ConfigError
from cords_tune.models import create_model


@pytest.mark.parametrize("shape", [(1, 4, 4), (1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 8, 20)], ids=str)
def test_works_for_small_and_usual_image_sizes(shape: tuple[int, ...]) -> None:
    model = create_model("lenet", input_shape=shape, num_classes=10)
    assert model(torch.randn(2, *shape)).shape == (2, 10)
    assert model.embedding_dim == 84


def test_classic_lenet5_sizes_on_32x32() -> None:
    model = create_model("lenet", input_shape=(1, 32, 32), num_classes=10)
    fc1 = model.features[8]
    assert (fc1.in_features, fc1.out_features) == (16 * 5 * 5, 120)


def test_width_scales_every_layer() -> None:
    model = create_model("lenet", input_shape=(3, 32, 32), num_classes=10, params={"width": 2})
    assert model.features[0].out_channels == 12
    assert model.embedding_dim == 168


@pytest.mark.parametrize("shape", [(40,), (1, 40), (1, 3, 3)], ids=str)
def test_unusable_shapes_are_rejected_with_a_hint(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="model 'lenet' needs") as info:
        create_model("lenet", input_shape=shape, num_classes=10)
    assert info.value.path == "model.name"
    assert "Use 'mlp'" in str(info.value)


@pytest.mark.parametrize("params", [{"width": 0}, {"dropout": -0.5}])
def test_out_of_range_params_are_rejected(params: dict[str, float]) -> None:
    (key,) = params
    with pytest.raises(ConfigError, match=key):
        create_model("lenet", input_shape=(1, 8, 8), num_classes=10, params=params)
