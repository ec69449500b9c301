"""Online random selection: a fresh class-balanced random subset at each reselection.

A strong baseline that adaptive strategies must beat (Killamsetty et al., AUTOMATA, NeurIPS 2022, and
DeepCore, Guo et al. 2022, both find random subsets hard to beat at moderate fractions).
"""

from __future__ import annotations

import torch

from cords_tune.selection import STRATEGIES
from cords_tune.selection.base import SelectionContext, SelectionStrategy, Subset

__all__ = ["RandomStrategy", "class_balanced_quota"]


def class_balanced_quota(labels: torch.Tensor, num_classes: int, budget: int) -> torch.Tensor:
    """Samples per class for a subset of ``budget``: proportional to class sizes (largest remainders),
    with at least one per present class where the budget allows."""
    counts = torch.bincount(labels.cpu(), minlength=num_classes).double()
    exact = counts * budget / counts.sum()
    quota = exact.floor().long()
    present = counts > 0
    if budget >= int(present.sum()):
        quota = torch.where(present & (quota == 0), torch.ones_like(quota), quota)
    while int(quota.sum()) > budget:  # the minimum of one per class overshot: take from the largest
        quota[int(torch.argmax(quota))] -= 1
    remainder = exact - exact.floor()
    for c in torch.argsort(remainder, descending=True).tolist():
        if int(quota.sum()) >= budget:
            break
        if quota[c] < counts[c]:
            quota[c] += 1
    return torch.minimum(quota, counts.long())


@STRATEGIES.register("random")
class RandomStrategy(SelectionStrategy):
    """A new random subset at each reselection, class-balanced by default; uniform weights.

    Args:
        class_balanced: keep each class's share of the training data in the subset.
    """

    def __init__(self, *, class_balanced: bool = True) -> None:
        if not isinstance(class_balanced, bool):
            raise ValueError(f"The 'class_balanced' parameter of random must be a bool. Got {class_balanced!r}.")
        self.class_balanced = class_balanced

    def select(self, context: SelectionContext, budget: int) -> Subset:
        generator = context.generator()
        labels = context.labels.cpu()
        if not self.class_balanced:
            indices = torch.randperm(len(labels), generator=generator)[:budget]
        else:
            quota = class_balanced_quota(labels, context.num_classes, budget)
            chosen = []
            for c, k in enumerate(quota.tolist()):
                if k:
                    members = torch.nonzero(labels == c).flatten()
                    chosen.append(members[torch.randperm(len(members), generator=generator)[:k]])
            indices = torch.cat(chosen)
        indices = torch.sort(indices).values
        return Subset(indices=indices, weights=torch.ones(len(indices)))
