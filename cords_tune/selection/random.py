"""Online random selection: a fresh class-balanced random subset at each reselection.

A strong baseline that adaptive strategies must beat (Killamsetty et al., AUTOMATA, NeurIPS 2022, and
DeepCore, Guo et al. 2022, both find random subsets hard to beat at moderate fractions).
"""

from __future__ import annotations

import torch

from cords_tune.selection.registry import STRATEGIES
from cords_tune.params import ParamCheck
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset
from cords_tune.selection.partition import class_members, device_generator

__all__ = ["RandomStrategy"]


@STRATEGIES.register("random")
class RandomStrategy(SelectionStrategy):
    """A new random subset at each reselection, class-balanced by default; uniform weights.

    Args:
        class_balanced: keep each class's share of the training data in the subset.
    """

    def __init__(self, *, class_balanced: bool = True) -> None:
        self.class_balanced = ParamCheck("strategy", "random").boolean("class_balanced", class_balanced)

    def select(self, context: SelectionContext, budget: int) -> Subset:
        labels = context.labels
        generator = device_generator(context.generator(), labels.device)
        if not self.class_balanced:
            indices = torch.randperm(len(labels), generator=generator, device=labels.device)[:budget]
        else:
            chosen = [
                members[torch.randperm(len(members), generator=generator, device=labels.device)[:k]]
                for members, k in class_members(labels, context.num_classes, budget)
            ]
            indices = torch.cat(chosen)
        indices = torch.sort(indices).values
        return Subset(indices=indices, weights=torch.ones(len(indices), device=labels.device))
