"""Tests specific to cords_tune/models/resnet.py (the shared contract is in test_model_conformance.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cords_tune.errors import ConfigError
from cords_tune.models import create_model
from cords_tune.models.resnet import BasicBlock


def test_standard_cifar_resnet18_size() -> None:
    model = create_model("resnet18", input_shape=(3, 32, 32), num_classes=10)
    assert sum(p.numel() for p in model.parameters()) == 11_173_962  # the usual CIFAR ResNet-18
    assert model.embedding_dim == 512


def test_cifar_stem_and_four_stages_of_two_blocks() -> None:
    model = create_model("resnet18", input_shape=(3, 32, 32), num_classes=10, params={"width": 8})
    stem = model.stem[0]
    assert (stem.kernel_size, stem.stride) == ((3, 3), (1, 1))
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert sum(isinstance(m, BasicBlock) for m in model.modules()) == 8
    x = torch.randn(2, 3, 32, 32)
    assert model.stages(model.stem(x)).shape == (2, 64, 4, 4)
    assert model.embed(x).shape == (2, 8 * 8)


def test_zero_init_residual_starts_blocks_as_identity() -> None:
    model = create_model(
        "resnet18", input_shape=(1, 8, 8), num_classes=10, params={"width": 4, "zero_init_residual": True}
    )
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert all(torch.count_nonzero(block.bn2.weight) == 0 for block in blocks)
    block = blocks[1]  # identity shortcut: the block is ReLU(x), so x for non-negative input
    block.eval()
    x = torch.rand(2, 4, 8, 8)
    torch.testing.assert_close(block(x), x)


@pytest.mark.parametrize("shape", [(40,), (1, 40)], ids=str)
def test_vector_input_is_rejected_with_a_hint(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="Use 'mlp' or 'cnn1d' for vector input") as info:
        create_model("resnet18", input_shape=shape, num_classes=10)
    assert info.value.path == "model.name"


@pytest.mark.parametrize("params", [{"width": 0}, {"zero_init_residual": 1}])
def test_bad_params_are_rejected(params: dict[str, object]) -> None:
    (key,) = params
    with pytest.raises(ConfigError, match=key):
        create_model("resnet18", input_shape=(3, 8, 8), num_classes=10, params=params)
