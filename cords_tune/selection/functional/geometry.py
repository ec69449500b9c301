"""Embedding-geometry coresets of one block: k-center greedy and herding.

Both keep one (n,) vector of state and add one point per step with a matrix-vector product, so a block costs
O(budget * n * d) time and O(n * d) memory; the picks stay on the input's device (nothing is read back).
"""

from __future__ import annotations

import torch

from cords_tune.selection.functional._common import check_generator, check_int, check_matrix

__all__ = ["herding", "kcenter_greedy"]


def _squared_distances(features: torch.Tensor, norms: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
    """``|f_i - center|^2`` for every row, from the rows' squared norms (one matrix-vector product)."""
    return (norms - 2 * (features @ center) + center.square().sum()).clamp_min_(0)


def kcenter_greedy(
    features: torch.Tensor, budget: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Greedy k-center (Sener and Savarese, ICLR 2018): each pick is the point farthest from its nearest pick.

    A 2-approximation of ``min_S max_i min_{j in S} |f_i - f_j|``: the picks cover the block, outliers and
    small clusters included. The first center is drawn uniformly with ``generator``.

    Args:
        features: one block's embeddings (n, d), any device.
        budget: the number of points to choose (clipped to n).
        generator: source of the first center, on the input's device (the global generator when None).

    Returns:
        ``min(budget, n)`` distinct int64 indices in the order chosen.
    """
    features = check_matrix(features, "features", "kcenter_greedy")
    budget = min(check_int(budget, "budget", "kcenter_greedy", minimum=1), features.shape[0])
    generator = check_generator(generator, "kcenter_greedy")
    norms = features.square().sum(1)
    picks = torch.empty(budget, dtype=torch.int64, device=features.device)
    picks[:1] = torch.randint(features.shape[0], (1,), generator=generator, device=features.device)
    nearest = torch.full_like(norms, torch.inf)
    for step in range(budget):
        if step:
            picks[step] = torch.argmax(nearest)
        pick = picks[step : step + 1]  # a (1,) view: indexing with it reads nothing back
        torch.minimum(nearest, _squared_distances(features, norms, features[pick][0]), out=nearest)
        nearest.index_fill_(0, pick, -1.0)  # below every distance: never picked twice
    return picks


def herding(features: torch.Tensor, budget: int) -> torch.Tensor:
    """Herding (Welling, ICML 2009; Chen, Welling and Smola, UAI 2010): each pick brings the mean of the picks
    closest to the block's mean.

    At step t the pick minimises ``|mu - (s + f_i) / t|`` over the unpicked points, where ``s`` sums the
    earlier picks: ``|t mu - s - f_i|^2``, one matrix-vector product per step. Deterministic (the first pick is
    the point nearest the mean).

    Args:
        features: one block's embeddings (n, d), any device.
        budget: the number of points to choose (clipped to n).

    Returns:
        ``min(budget, n)`` distinct int64 indices in the order chosen.
    """
    features = check_matrix(features, "features", "herding")
    budget = min(check_int(budget, "budget", "herding", minimum=1), features.shape[0])
    mean = features.mean(0)
    norms = features.square().sum(1)
    total = torch.zeros_like(mean)
    taken = torch.zeros(features.shape[0], dtype=torch.bool, device=features.device)
    picks = torch.empty(budget, dtype=torch.int64, device=features.device)
    for step in range(budget):
        target = (step + 1) * mean - total
        cost = (norms - 2 * (features @ target)).masked_fill_(taken, torch.inf)  # |target - f_i|^2 - |target|^2
        picks[step] = torch.argmin(cost)
        pick = picks[step : step + 1]
        taken.index_fill_(0, pick, True)
        total += features[pick][0]
    return picks
