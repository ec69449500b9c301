"""Closed-form last-layer gradients agree with autograd."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import TensorSplit

from cords_tune.models import create_model
from cords_tune.selection.features import LastLayerGradients, gradient_dim




@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=(6,), num_classes=4, params={"hidden": 5, "depth": 1}).double()
    train = TensorSplit(torch.randn(20, 6, dtype=torch.float64), torch.randint(0, 4, (20,)))
    val = TensorSplit(torch.randn(9, 6, dtype=torch.float64), torch.randint(0, 4, (9,)))
    return model, train, val


def _autograd(model, x, y):
    """Per-sample gradient of the loss w.r.t. (head.weight, head.bias), flattened like the closed form."""
    rows = []
    for i in range(len(y)):
        model.zero_grad()
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        rows.append(torch.cat([model.head.weight.grad.flatten(), model.head.bias.grad]))
    return torch.stack(rows)


def test_per_sample_gradients_match_autograd(setup):
    model, train, val = setup
    gradients = LastLayerGradients(model, train, val, chunk_size=7)  # several chunks
    expected = _autograd(model, train.x, train.y)
    full = gradients.per_sample(mode="last_layer")
    assert full.shape == (20, gradient_dim(4, 5, "last_layer"))
    assert torch.allclose(full.double(), expected, atol=1e-5)
    assert torch.allclose(gradients.per_sample(mode="logits").double(), expected[:, -4:], atol=1e-5)
    index = torch.tensor([3, 0, 11])
    assert torch.allclose(gradients.per_sample(index).double(), expected[index], atol=1e-5)


def test_group_sums_equal_summed_rows(setup):
    model, train, val = setup
    gradients = LastLayerGradients(model, train, val)
    groups = torch.tensor([[0, 5, 7], [1, 2, 19]])
    rows = gradients.per_sample()
    for mode in ("last_layer", "logits"):
        sums = gradients.group_sums(groups, mode=mode)
        expected = gradients.per_sample(mode=mode)[groups].sum(1)
        assert torch.allclose(sums, expected, atol=1e-5)
    assert rows.shape[0] == 20


def test_validation_gradient_after_a_step_matches_autograd(setup):
    model, train, val = setup
    gradients = LastLayerGradients(model, train, val)
    step = 0.3 * torch.randn(gradient_dim(4, 5, "last_layer"), dtype=torch.float64)
    closure = gradients.validation_gradient(mode="last_layer")
    with torch.no_grad():
        model.head.weight -= step[:20].view(4, 5)
        model.head.bias -= step[20:]
    expected = _autograd(model, val.x, val.y).mean(0)
    assert torch.allclose(closure(step).double(), expected, atol=1e-5)
    zero = gradients.validation_gradient(mode="logits")(torch.zeros(4))
    assert zero.shape == (4,)


def test_model_mode_is_restored(setup):
    model, train, val = setup
    model.train()
    LastLayerGradients(model, train, val).per_sample()
    assert model.training


def test_restricted_gradients_are_the_rows_at_the_index_and_read_only_them(setup):
    model, train, val = setup
    index = torch.tensor([4, 0, 13])
    full = LastLayerGradients(model, train, val)
    expected = full.per_sample(index)
    fresh = LastLayerGradients(model, train, val).restricted(index)
    torch.testing.assert_close(fresh.per_sample(), expected)
    torch.testing.assert_close(fresh.labels, train.y[index])
    torch.testing.assert_close(full.restricted(index).per_sample(), expected)  # sliced from the cache
    assert len(fresh.train) == 3


def test_lower_precision_forward_gives_float32_gradients_close_to_full_precision():
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=(6,), num_classes=4, params={"hidden": 5, "depth": 1})
    train = TensorSplit(torch.randn(20, 6), torch.randint(0, 4, (20,)))
    exact = LastLayerGradients(model, train).per_sample()
    low = LastLayerGradients(model, train, precision=torch.bfloat16).per_sample()
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, exact, atol=0.05, rtol=0.05)
    assert not torch.equal(low, exact), "the forward pass should have run in bfloat16"
