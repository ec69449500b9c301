from __future__ import annotations

import pytest
import torch

from cords_tune.selection import SelectionContext, budget_for
from cords_tune.errors import ConfigError
from cords_tune.selection.partition import class_balanced_quota
from cords_tune.selection.random import RandomStrategy


def test_quota_is_proportional_and_sums_to_budget():
    labels = torch.tensor([0] * 60 + [1] * 30 + [2] * 10)
    quota = class_balanced_quota(labels, 3, 10)
    assert quota.tolist() == [6, 3, 1]
    assert int(class_balanced_quota(labels, 3, 37).sum()) == 37


def test_quota_keeps_every_class_when_the_budget_allows():
    labels = torch.tensor([0] * 97 + [1] * 2 + [2] * 1)
    quota = class_balanced_quota(labels, 3, 5)
    assert int(quota.sum()) == 5 and (quota >= 1).all()


def test_class_balanced_subset_follows_the_class_shares():
    labels = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)
    context = SelectionContext(labels=labels, num_classes=3, epoch=0, seed=1)
    subset = RandomStrategy().select(context, 100)
    assert torch.bincount(labels[subset.indices], minlength=3).tolist() == [60, 30, 10]
    assert torch.all(subset.weights == 1)


def test_a_new_subset_at_each_reselection():
    labels = torch.arange(1000) % 4
    first = RandomStrategy().select(SelectionContext(labels=labels, num_classes=4, epoch=0, seed=0), 100)
    later = RandomStrategy().select(SelectionContext(labels=labels, num_classes=4, epoch=5, seed=0), 100)
    assert not torch.equal(first.indices, later.indices)


def test_bad_parameter_value_is_rejected():
    with pytest.raises(ConfigError, match="selection.params.class_balanced: The 'class_balanced' parameter of strategy 'random'"):
        RandomStrategy(class_balanced="yes")


@pytest.mark.parametrize(("fraction", "n", "expected"), [(0.1, 7199, 720), (1.0, 10, 10), (1e-9, 10, 1)])
def test_budget_for(fraction, n, expected):
    assert budget_for(fraction, n) == expected
