"""What DeepCore's static coreset strategies share: chosen once per tuning run from a proxy model, per class by
default, unweighted."""

from __future__ import annotations

import torch

from cords_tune.params import ParamCheck
from cords_tune.selection.base import SelectionStrategy, Subset
from cords_tune.selection.plan import SelectionPlan

__all__ = ["StaticStrategy", "unweighted"]


class StaticStrategy(SelectionStrategy):
    """A shared, unweighted strategy with a ``class_balanced`` parameter.

    Args:
        class_balanced: each class gets its share of the budget; ``false`` selects among all samples at once.
    """

    plan = SelectionPlan(when="once", reads=frozenset({"gradients"}))
    #: the registered name, for parameter errors and missing-input errors.
    name: str

    def __init__(self, *, class_balanced: bool = True) -> None:
        self.class_balanced = ParamCheck("strategy", self.name).boolean("class_balanced", class_balanced)


def unweighted(chosen: list[torch.Tensor]) -> Subset:
    """The subset of the chosen indices of every block, in increasing order, each of weight 1."""
    indices = torch.sort(torch.cat(chosen)).values
    return Subset(indices=indices, weights=torch.ones(len(indices), device=indices.device))
