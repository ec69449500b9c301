"""Selection on the data's device (nothing read back per sample), and the candidate pool of the gradient
strategies: its validation, what it restricts, and that pool 1 is the plain selection."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from conftest import TensorSplit
from test_conformance import simulated_record

from cords_tune.errors import ConfigError
from cords_tune.models import create_model
from cords_tune.selection import STRATEGIES, SelectionContext, create_strategy, plan_of
from cords_tune.selection.features import LastLayerGradients
from cords_tune.selection.partition import candidate_pool, top_up

POOL_STRATEGIES = [name for name in STRATEGIES.names() if "pool" in STRATEGIES.user_params(name)]
STATIC_STRATEGIES = [name for name in STRATEGIES.names() if plan_of(name).shared]
VARIANTS = [
    ("gradmatch", {}),
    ("gradmatch", {"partition": "class"}),
    ("craig", {}),
    ("craig", {"stochastic": True}),
    ("glister", {}),
    ("glister", {"stochastic": False}),
    ("glister", {"max_steps": None}),
]


class CountingSplit(TensorSplit):
    """A split that records which samples the model was asked to read."""

    def __init__(self, x, y):
        super().__init__(x, y)
        self.read: list[torch.Tensor] = []

    def batch(self, index):
        self.read.append(index.clone())
        return super().batch(index)


def _context(n: int = 400, num_classes: int = 4, seed: int = 0, train=None) -> SelectionContext:
    generator = torch.Generator().manual_seed(5)
    labels = torch.arange(n) % num_classes
    x = torch.randn(n, 8, generator=generator) + labels[:, None].float()
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=(8,), num_classes=num_classes, params={"hidden": 6, "depth": 1})
    train = train or TensorSplit(x, labels)
    gradients = LastLayerGradients(model, train, TensorSplit(x[:60], labels[:60]))
    return SelectionContext(
        labels=labels, num_classes=num_classes, epoch=2, seed=seed, gradients=gradients, batch_size=8,
        learning_rate=0.05, epochs=10, record=simulated_record(n),
    )


STATIC_VARIANTS = [(name, {}) for name in STATIC_STRATEGIES] + [
    (name, {"class_balanced": False}) for name in STATIC_STRATEGIES
]


@pytest.mark.parametrize(
    ("name", "params"),
    VARIANTS + STATIC_VARIANTS + [("random", {}), ("random", {"class_balanced": False}), ("full", {}), ("infobatch", {})],
)
def test_selection_reads_nothing_back_to_the_host_per_sample(name, params, monkeypatch):
    context = _context()

    def refuse(self, *args, **kwargs):
        raise AssertionError("a selection moved a tensor to the host")

    monkeypatch.setattr(torch.Tensor, "cpu", refuse)
    monkeypatch.setattr(torch.Tensor, "numpy", refuse)
    subset = create_strategy(name, params).select(context, 40)
    monkeypatch.undo()
    assert subset.indices.device == context.labels.device and subset.weights.device == context.labels.device
    assert len(torch.unique(subset.indices)) == len(subset)
    if plan_of(name).sized_by_budget:
        assert len(subset) == 40
    elif name == "full":
        assert len(subset) == context.num_samples


@pytest.mark.parametrize("name", POOL_STRATEGIES)
@pytest.mark.parametrize("pool", [0.0, -0.5, 1.5, math.nan, "half", True, None])
def test_bad_pool_says_what_must_hold(name, pool):
    with pytest.raises(ConfigError, match=r"The 'pool' parameter of strategy .* must be a number in \(0, 1\]") as error:
        create_strategy(name, {"pool": pool})
    assert f"Got {pool!r} instead" in str(error.value)
    assert "1 selects from all data" in str(error.value)
    assert error.value.path == "selection.params.pool"


@pytest.mark.parametrize(("name", "params"), VARIANTS)
def test_pool_of_one_is_the_plain_selection(name, params):
    plain = create_strategy(name, params).select(_context(), 30)
    pooled = create_strategy(name, params | {"pool": 1.0}).select(_context(), 30)
    assert torch.equal(plain.indices, pooled.indices) and torch.equal(plain.weights, pooled.weights)


@pytest.mark.parametrize(("name", "params"), VARIANTS)
def test_pool_restricts_the_candidates_and_the_forward_pass(name, params):
    x = torch.randn(400, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(400) % 4
    train = CountingSplit(x, labels)
    context = _context(train=train)
    subset = create_strategy(name, params | {"pool": 0.25}).select(context, 40)
    read = torch.cat(train.read)
    assert len(read) == 100, "the forward pass should see only the pool"
    assert set(subset.indices.tolist()) <= set(read.tolist())
    assert len(subset) == 40
    again = create_strategy(name, params | {"pool": 0.25}).select(_context(train=TensorSplit(x, labels)), 40)
    assert torch.equal(subset.indices, again.indices), "the pool is seeded"


def test_pool_is_class_balanced_seeded_and_redrawn_per_epoch():
    labels = torch.tensor([0] * 300 + [1] * 100)
    first = candidate_pool(labels, 2, 100, torch.Generator().manual_seed(0))
    assert torch.bincount(labels[first]).tolist() == [75, 25]
    assert len(torch.unique(first)) == 100 and bool((first[1:] > first[:-1]).all())
    assert torch.equal(first, candidate_pool(labels, 2, 100, torch.Generator().manual_seed(0)))
    assert not torch.equal(first, candidate_pool(labels, 2, 100, torch.Generator().manual_seed(1)))
    strategy = create_strategy("gradmatch", {"pool": 0.5})
    context = _context()
    next_epoch = dataclasses.replace(_context(), epoch=context.epoch + 1)
    assert not torch.equal(strategy.select(context, 20).indices, strategy.select(next_epoch, 20).indices)


def test_pool_never_holds_fewer_samples_than_the_budget():
    subset = create_strategy("craig", {"pool": 0.01}).select(_context(), 100)
    assert len(subset) == 100 and len(torch.unique(subset.indices)) == 100


def test_gradmatch_tolerance_stops_early_and_tops_up_the_budget():
    context = _context()
    loose = create_strategy("gradmatch", {"partition": "class", "tol": 0.9}).select(context, 60)
    tight = create_strategy("gradmatch", {"partition": "class", "tol": 0.0}).select(_context(), 60)
    assert len(loose) == len(tight) == 60
    # Stopped early: the random extras all weigh the mean of the few matched samples, so few distinct weights.
    assert len(torch.unique(loose.weights)) < len(torch.unique(tight.weights))


def test_bad_tolerance_is_refused():
    with pytest.raises(ConfigError, match=r"The 'tol' parameter of strategy 'gradmatch' must be a number in \[0, 1\)"):
        create_strategy("gradmatch", {"tol": 1.0})


def test_top_up_adds_distinct_unchosen_candidates_at_the_mean_weight():
    chosen = torch.tensor([3, 7])
    indices, weights = top_up(chosen, torch.tensor([2.0, 4.0]), 10, 6, torch.Generator().manual_seed(0))
    assert indices[:2].tolist() == [3, 7] and len(torch.unique(indices)) == 6 and int(indices.max()) < 10
    assert weights.tolist() == [2.0, 4.0, 3.0, 3.0, 3.0, 3.0]
    indices, weights = top_up(torch.tensor([], dtype=torch.int64), torch.tensor([]), 4, 9, torch.Generator())
    assert sorted(indices.tolist()) == [0, 1, 2, 3] and weights.tolist() == [1.0] * 4


def test_craig_solves_the_classes_together_where_a_gpu_would_with_the_same_subset(monkeypatch):
    from cords_tune.selection import craig

    alone = create_strategy("craig", {}).select(_context(), 40)
    monkeypatch.setattr(craig, "solve_together", lambda features: True)

    def refuse(self, *args, **kwargs):
        raise AssertionError("the batched greedy moved a tensor to the host")

    monkeypatch.setattr(torch.Tensor, "cpu", refuse)
    monkeypatch.setattr(torch.Tensor, "item", refuse)
    together = create_strategy("craig", {}).select(_context(), 40)
    monkeypatch.undo()
    assert torch.equal(together.indices, alone.indices)
    assert torch.equal(together.weights, alone.weights)


def test_craig_solves_classes_together_only_on_a_gpu():
    from cords_tune.selection.craig import solve_together

    assert not solve_together([torch.zeros(5, 3), torch.zeros(4, 3)])


@pytest.mark.parametrize(("max_steps", "calls"), [(None, 40), (10, 10), (7, 7), (1, 1)])
def test_glister_max_steps_bounds_the_validation_gradients_computed(max_steps, calls, monkeypatch):
    context = _context()
    made = context.gradients.validation_gradient
    evaluations = []

    def counted(**kwargs):
        gradient = made(**kwargs)
        return lambda delta: evaluations.append(1) or gradient(delta)

    monkeypatch.setattr(context.gradients, "validation_gradient", counted)
    subset = create_strategy("glister", {"max_steps": max_steps}).select(context, 40)
    assert len(evaluations) == calls
    assert len(torch.unique(subset.indices)) == len(subset) == 40


@pytest.mark.parametrize("max_steps", [0, -3, 2.5, "many", True])
def test_bad_glister_max_steps_says_what_must_hold(max_steps):
    with pytest.raises(ConfigError, match=r"The 'max_steps' parameter of strategy 'glister' must be an integer"):
        create_strategy("glister", {"max_steps": max_steps})
