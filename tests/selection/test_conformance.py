"""Every registered strategy keeps the selection contract; a new strategy is tested with no test edits."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import torch

from cords_tune.errors import ConfigError
from conftest import TensorSplit

from cords_tune.models import create_model
from cords_tune.selection import STRATEGIES, SelectionContext, create_strategy, plan_of
from cords_tune.selection.features import LastLayerGradients
from cords_tune.selection.record import SampleRecord

STRATEGY_NAMES = STRATEGIES.names()


def simulated_record(n: int, epochs: int = 4, batch_size: int = 32) -> SampleRecord:
    """A training record filled from a few epochs of seeded random batches (losses, correctness, forgetting)."""
    generator = torch.Generator().manual_seed(11)
    record = SampleRecord(n)
    for _ in range(epochs):
        for index in torch.randperm(n, generator=generator).split(batch_size):
            losses = torch.rand(len(index), generator=generator)
            record.update(index, losses, losses < 0.6)
    return record


def _context(epoch: int = 0, seed: int = 0, n: int = 300, num_classes: int = 5) -> SelectionContext:
    """A real model's gradients on random data, so gradient-based strategies run for real, and a record of
    simulated training batches for the strategies that read it (epoch 3 of 10, before any full-data tail)."""
    generator = torch.Generator().manual_seed(123)
    labels = torch.arange(n) % num_classes
    x = torch.randn(n, 8, generator=generator) + labels[:, None].float()
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=(8,), num_classes=num_classes, params={"hidden": 6, "depth": 1})
    val = TensorSplit(x[:50], labels[:50])
    gradients = LastLayerGradients(model, TensorSplit(x, labels), val)
    return SelectionContext(
        labels=labels, num_classes=num_classes, epoch=epoch, seed=seed, gradients=gradients, batch_size=10,
        learning_rate=0.05, epochs=10, record=simulated_record(n),
    )


@pytest.mark.parametrize("name", STRATEGY_NAMES)
@pytest.mark.parametrize("budget", [5, 30, 299])
def test_subset_is_valid(name, budget):
    context = _context()
    subset = create_strategy(name).select(context, budget)
    indices, weights = subset.indices, subset.weights
    if plan_of(name).sized_by_budget:
        assert len(subset) <= budget
        assert len(subset) >= min(budget, 10) // 2, "a strategy should use most of its budget"
    assert indices.dtype == torch.int64 and indices.ndim == 1
    assert len(torch.unique(indices)) == len(indices), "indices must be distinct"
    assert int(indices.min()) >= 0 and int(indices.max()) < context.num_samples
    assert torch.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_same_seed_same_subset(name):
    first = create_strategy(name).select(_context(epoch=3, seed=7), 40)
    again = create_strategy(name).select(_context(epoch=3, seed=7), 40)
    assert torch.equal(first.indices, again.indices) and torch.equal(first.weights, again.weights)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_strategies_pickle(name):
    strategy = create_strategy(name)
    clone = pickle.loads(pickle.dumps(strategy))
    assert torch.equal(clone.select(_context(), 20).indices, strategy.select(_context(), 20).indices)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_unknown_parameters_are_rejected(name):
    with pytest.raises(ConfigError, match="no parameter 'not_a_parameter'"):
        create_strategy(name, {"not_a_parameter": 1})


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_missing_inputs_are_named(name):
    strategy = STRATEGIES.get(name)
    bare = dataclasses.replace(_context(), gradients=None, record=None)
    if strategy.plan.needs_gradients:
        with pytest.raises(ValueError, match=f"strategy {name!r} needs gradients"):
            create_strategy(name).select(bare, 20)
    elif strategy.plan.needs_record:
        with pytest.raises(ValueError, match=f"strategy {name!r} needs the training record"):
            create_strategy(name).select(bare, 20)
    else:
        assert len(create_strategy(name).select(bare, 20)) > 0


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_every_strategy_describes_itself(name):
    assert STRATEGIES.describe(name), f"{name} needs a one-line docstring for `cords-tune strategies`"
