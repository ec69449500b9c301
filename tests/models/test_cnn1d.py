"""Tests specific to cords_tune/models/cnn1d.py (the shared contract is in test_model_conformance.py)."""

from __future__ import annotations

import pytest
import torch

from cords_tune.errors import ConfigError
from cords_tune.models import create_model


def test_matches_the_mnist1d_paper_cnn() -> None:
    # The paper's CNN on length-40 input: 25 channels x 5 positions = 125 features into the linear layer.
    model = create_model("cnn1d", input_shape=(40,), num_classes=10, params={"channels": 25})
    assert model.embedding_dim == 125
    assert sum(p.numel() for p in model.parameters()) == (25 * 5 + 25) + 2 * (25 * 25 * 3 + 25) + (125 * 10 + 10)


def test_default_embedding_and_vector_or_channel_input() -> None:
    model = create_model("cnn1d", input_shape=(40,), num_classes=10)
    assert model.embedding_dim == 32 * 5
    x = torch.randn(3, 40)
    model.eval()
    torch.testing.assert_close(model(x), model(x.unsqueeze(1)))
    multi = create_model("cnn1d", input_shape=(2, 40), num_classes=10)
    assert multi(torch.randn(3, 2, 40)).shape == (3, 10)


def test_kernel_size_changes_the_first_convolution() -> None:
    model = create_model("cnn1d", input_shape=(40,), num_classes=10, params={"kernel_size": 7})
    assert model.features[0].kernel_size == (7,)
    assert model(torch.randn(2, 40)).shape == (2, 10)


@pytest.mark.parametrize("shape", [(2,), (1, 2), (1, 8, 8)])
def test_unusable_shapes_are_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="model 'cnn1d' needs") as info:
        create_model("cnn1d", input_shape=shape, num_classes=10)
    assert info.value.path == "model.name"


def test_learns_a_separable_problem() -> None:
    torch.manual_seed(0)
    num_classes, n, length = 4, 256, 40
    y = torch.randint(0, num_classes, (n,))
    x = 0.3 * torch.randn(n, length)
    positions = 5 + 10 * y  # class k has a bump of width 3 around position 5 + 10k
    for offset in (-1, 0, 1):
        x[torch.arange(n), positions + offset] += 2.0
    model = create_model("cnn1d", input_shape=(length,), num_classes=num_classes, params={"channels": 16})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(40):
        batch = torch.arange(step * 64, step * 64 + 64) % n
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.8  # chance is 0.25
