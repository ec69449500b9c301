"""DeepCore's static strategies on hand-made cases: each keeps what its definition says, where random would not.

The proxy model is an identity embedding and a chosen linear head, so the features, logits and softmax of
every sample are set by the test.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from conftest import TensorSplit

from cords_tune.errors import ConfigError
from cords_tune.selection import STRATEGIES, SelectionContext, create_strategy, plan_of
from cords_tune.selection import submodular
from cords_tune.selection.features import LastLayerGradients
from cords_tune.selection.functional import gradient_cosine_similarity, graph_cut
from cords_tune.selection.record import SampleRecord

STATIC = [name for name in STRATEGIES.names() if plan_of(name).shared]
SCORES = ["el2n", "grand", "least_confidence", "entropy", "margin"]


class LinearProxy(nn.Module):
    """A classifier whose embedding is its input and whose head is ``weight x + bias``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.embed = nn.Identity()
        self.head = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(weight)
            self.head.bias.copy_(torch.zeros(weight.shape[0]) if bias is None else bias)


def _context(x: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None = None, *, seed: int = 0,
             record: SampleRecord | None = None) -> SelectionContext:
    num_classes = int(labels.max()) + 1
    weight = torch.eye(num_classes, x.shape[1]) if weight is None else weight
    gradients = LastLayerGradients(LinearProxy(weight), TensorSplit(x, labels))
    return SelectionContext(labels=labels, num_classes=num_classes, epoch=0, seed=seed, gradients=gradients,
                            record=record)


def _clusters(seed: int = 0) -> SelectionContext:
    """Three classes of 2-D points around distinct centres, with a far outlier cluster in class 0."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    labels = torch.arange(300) % 3
    x = centres[labels] + torch.randn(300, 2, generator=generator)
    x[[0, 3, 6]] = torch.tensor([40.0, -40.0]) + 0.1 * torch.randn(3, 2, generator=generator)
    return _context(x, labels, torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))


def _nearest_center_distance(x: torch.Tensor, centers: torch.Tensor) -> float:
    return float(torch.cdist(x, centers).min(1).values.max())


# --- scores -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCORES)
def test_scores_keep_the_ambiguous_samples(name):
    """Two classes, confident samples far from the boundary and a few ambiguous ones on it."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(80) % 2
    x = torch.stack([torch.where(labels == 0, 3.0, -3.0), torch.zeros(80)], 1) + 0.1 * torch.randn(80, 2, generator=generator)
    ambiguous = torch.tensor([10, 21, 32, 43, 54, 65])
    x[ambiguous, 0] = 0.05 * torch.randn(6, generator=generator)
    context = _context(x, labels, torch.tensor([[5.0, 0.0], [-5.0, 0.0]]))
    subset = create_strategy(name).select(context, 6)
    assert sorted(subset.indices.tolist()) == ambiguous.tolist()
    assert torch.equal(subset.weights, torch.ones(6))


def test_margin_and_least_confidence_differ_where_they_should():
    """A: p = (.5, .5, 0), a tie at the top but a confident top-1 of .5; B: p = (.4, .3, .3), a lower top-1
    with a clear winner. Least confidence and entropy keep B; margin keeps A."""
    p = torch.tensor([[0.5, 0.5, 1e-6], [0.4, 0.3, 0.3]] + [[0.98, 0.01, 0.01]] * 10)
    labels = torch.zeros(12, dtype=torch.int64)
    labels[-1] = 2  # all three classes present
    context = _context(p.log(), labels, torch.eye(3))
    keep = {name: create_strategy(name, {"class_balanced": False}).select(context, 1).indices.tolist()
            for name in ("least_confidence", "entropy", "margin")}
    assert keep == {"least_confidence": [1], "entropy": [1], "margin": [0]}


def test_grand_is_the_norm_of_the_last_layer_gradient():
    context = _clusters()
    gradients = context.gradients.per_sample(mode="last_layer")
    scores = create_strategy("grand").scores(context)
    torch.testing.assert_close(scores, torch.linalg.vector_norm(gradients, dim=1))


def test_forgetting_keeps_the_never_learned_then_the_most_forgotten():
    n = 20
    labels = torch.arange(n) % 2
    record = SampleRecord(n)
    everyone = torch.arange(n)
    never = torch.tensor([4, 7])
    forgotten_twice, forgotten_once = torch.tensor([2, 9]), torch.tensor([11, 16])
    for visit in range(4):
        correct = torch.ones(n, dtype=torch.bool)
        correct[never] = False
        correct[forgotten_twice] = visit % 2 == 0  # right, wrong, right, wrong: two events
        correct[forgotten_once] = visit != 2
        record.update(everyone, torch.rand(n), correct)
    context = SelectionContext(labels=labels, num_classes=2, epoch=0, seed=0, record=record)
    top2 = create_strategy("forgetting", {"class_balanced": False}).select(context, 2)
    assert top2.indices.tolist() == never.tolist()
    top6 = create_strategy("forgetting", {"class_balanced": False}).select(context, 6)
    assert top6.indices.tolist() == sorted([4, 7, 2, 9, 11, 16])


def test_class_balanced_false_ranks_globally():
    """All ambiguous samples are of class 0: balanced selection must take half from class 1, global does not."""
    generator = torch.Generator().manual_seed(1)
    labels = torch.arange(60) % 2
    x = torch.where(labels == 0, 3.0, -3.0)[:, None] + 0.1 * torch.randn(60, 1, generator=generator)
    ambiguous = torch.tensor([0, 2, 4, 6])
    x[ambiguous, 0] = 0.01 * torch.randn(4, generator=generator)
    context = _context(x, labels, torch.tensor([[5.0], [-5.0]]))
    assert create_strategy("el2n", {"class_balanced": False}).select(context, 4).indices.tolist() == [0, 2, 4, 6]
    balanced = create_strategy("el2n").select(context, 4)
    assert torch.bincount(labels[balanced.indices]).tolist() == [2, 2]


def test_ties_are_broken_by_the_seed():
    labels = torch.zeros(50, dtype=torch.int64)
    labels[-1] = 1
    context = _context(torch.zeros(50, 2), labels)  # every sample alike
    draws = {tuple(create_strategy("el2n").select(_context(torch.zeros(50, 2), labels, seed=s), 10).indices.tolist())
             for s in range(4)}
    assert len(draws) > 1
    assert torch.equal(create_strategy("el2n").select(context, 10).indices,
                       create_strategy("el2n").select(_context(torch.zeros(50, 2), labels), 10).indices)


# --- geometry ---------------------------------------------------------------------------------------------


def test_kcenter_covers_the_outliers_random_misses():
    context = _clusters()
    x = context.gradients.features()
    kcenter = create_strategy("kcenter").select(context, 15).indices
    random = create_strategy("random").select(context, 15).indices
    outliers = {0, 3, 6}
    assert outliers & set(kcenter.tolist())
    assert not outliers & set(random.tolist())
    for c in range(3):
        members = x[context.labels == c]
        assert _nearest_center_distance(members, x[kcenter][context.labels[kcenter] == c]) < \
            _nearest_center_distance(members, x[random][context.labels[random] == c])


def test_herding_tracks_the_class_mean_closer_than_random():
    context = _clusters(seed=3)
    x = context.gradients.features()
    for name in ("herding", "random"):
        subset = create_strategy(name).select(context, 30).indices
        gaps = [float(torch.linalg.vector_norm(x[subset][context.labels[subset] == c].mean(0)
                                               - x[context.labels == c].mean(0))) for c in range(3)]
        if name == "herding":
            herding_gaps = gaps
    assert all(h < r for h, r in zip(herding_gaps, gaps)), (herding_gaps, gaps)


# --- submodular -------------------------------------------------------------------------------------------


def test_gradient_cosine_similarity_is_the_cosine_of_the_gradients():
    context = _clusters()
    gradients = context.gradients.per_sample(mode="last_layer")[:40]
    expected = 0.5 + 0.5 * torch.nn.functional.cosine_similarity(gradients[:, None], gradients[None], dim=2)
    similarity = gradient_cosine_similarity(context.gradients.errors()[:40], context.gradients.features()[:40])
    torch.testing.assert_close(similarity, expected, atol=1e-5, rtol=1e-5)


def test_graph_cut_without_diversity_is_the_coverage_order():
    context = _clusters()
    subset = create_strategy("graph_cut", {"diversity": 0.0}).select(context, 12).indices
    expected = []
    for c in range(3):
        members = torch.nonzero(context.labels == c).flatten()
        similarity = gradient_cosine_similarity(context.gradients.errors()[members], context.gradients.features()[members])
        expected += members[torch.topk(similarity.sum(0), 4).indices].tolist()
    assert subset.tolist() == sorted(expected)
    diverse = create_strategy("graph_cut", {"diversity": 25.0}).select(context, 12).indices
    assert not torch.equal(diverse, subset)


def test_graph_cut_diversity_spreads_the_picks():
    """A tight clump of 30 points and 10 spread ones: coverage alone takes the clump, diversity leaves it.

    The penalty grows with the picks while coverage counts the whole block, so diversity matters once it is
    of the order of n / budget: at 20 a second clump point gains 30 - 20 - 2 * 20 < 1 - 20, a spread one's gain.
    """
    generator = torch.Generator().manual_seed(0)
    points = torch.cat([0.01 * torch.randn(30, 2, generator=generator), 3 * torch.randn(10, 2, generator=generator)])
    similarity = torch.exp(-torch.cdist(points, points).square())
    plain = graph_cut(similarity, 5, diversity=0.0)
    assert torch.equal(plain, torch.topk(similarity.sum(0), 5).indices)
    assert (plain < 30).all()
    diverse = graph_cut(similarity, 5, diversity=20.0)
    assert int((diverse < 30).sum()) == 1


def test_submodular_blocks_are_chunked_when_large(monkeypatch):
    monkeypatch.setattr(submodular, "MAX_BLOCK", 30)
    context = _clusters()
    for name in ("facility_location", "graph_cut"):
        for balanced in (True, False):
            subset = create_strategy(name, {"class_balanced": balanced}).select(context, 45)
            assert len(subset) == 45 and len(torch.unique(subset.indices)) == 45
            if balanced:
                assert torch.bincount(context.labels[subset.indices]).tolist() == [15, 15, 15]


# --- all of them ------------------------------------------------------------------------------------------


def _imbalanced(seed: int = 0) -> SelectionContext:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.zeros(150), torch.ones(100), torch.full((50,), 2)]).long()
    x = torch.randn(300, 4, generator=generator) + labels[:, None]
    record = SampleRecord(300)
    for _ in range(3):
        record.update(torch.arange(300), torch.rand(300, generator=generator),
                      torch.rand(300, generator=generator) < 0.7)
    return _context(x, labels, torch.randn(3, 4, generator=generator), record=record)


@pytest.mark.parametrize("name", STATIC)
def test_static_strategies_are_shared_unweighted_and_class_balanced(name):
    strategy = create_strategy(name)
    assert strategy.plan.shared and not strategy.plan.weighted
    subset = strategy.select(_imbalanced(), 60)
    assert torch.bincount(_imbalanced().labels[subset.indices]).tolist() == [30, 20, 10]
    assert torch.equal(subset.weights, torch.ones(60))
    assert len(create_strategy(name, {"class_balanced": False}).select(_imbalanced(), 60)) == 60


@pytest.mark.parametrize("name", STATIC)
@pytest.mark.parametrize("value", [1, "yes", None])
def test_class_balanced_must_be_a_bool(name, value):
    with pytest.raises(ConfigError, match=f"The 'class_balanced' parameter of strategy '{name}' must be true or false"):
        create_strategy(name, {"class_balanced": value})


@pytest.mark.parametrize("value", [-0.5, math.inf, "high"])
def test_graph_cut_diversity_must_be_nonnegative(value):
    with pytest.raises(ConfigError, match=r"The 'diversity' parameter of strategy 'graph_cut' must be a number >= 0"):
        create_strategy("graph_cut", {"diversity": value})
