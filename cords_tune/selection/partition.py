"""How strategies split the training data and the budget: per class, per mini-batch, and topping a
selection up to its budget when a kernel stops early."""

from __future__ import annotations

import torch

__all__ = ["class_balanced_quota", "class_members", "batch_groups", "top_up"]


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


def class_members(labels: torch.Tensor, num_classes: int, budget: int) -> list[tuple[torch.Tensor, int]]:
    """``(indices of class c, its share of the budget)`` for each class with a non-zero share."""
    quota = class_balanced_quota(labels, num_classes, budget)
    labels = labels.cpu()
    return [(torch.nonzero(labels == c).flatten(), k) for c, k in enumerate(quota.tolist()) if k > 0]


def batch_groups(num_samples: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A seeded random partition of the samples into mini-batches: (num_samples // batch_size, batch_size).

    The remainder (fewer than ``batch_size`` samples) is left out of this selection round; a new
    permutation at the next round gives every sample its chance.
    """
    batch_size = max(1, min(batch_size, num_samples))
    order = torch.randperm(num_samples, generator=generator)
    usable = (num_samples // batch_size) * batch_size
    return order[:usable].view(-1, batch_size)


def top_up(
    indices: torch.Tensor, weights: torch.Tensor, num_candidates: int, budget: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add random unchosen candidates until ``budget`` are chosen (AUTOMATA does the same when OMP stops
    early). Added candidates weigh the mean weight of the chosen ones (1 if none were chosen)."""
    indices, weights = indices.cpu(), weights.cpu().float()
    missing = min(budget, num_candidates) - len(indices)
    if missing <= 0:
        return indices, weights
    free = torch.ones(num_candidates, dtype=torch.bool)
    free[indices] = False
    pool = torch.nonzero(free).flatten()
    extra = pool[torch.randperm(len(pool), generator=generator)[:missing]]
    fill = weights.mean() if len(weights) else torch.tensor(1.0)
    return torch.cat([indices, extra]), torch.cat([weights, fill.expand(len(extra))])
