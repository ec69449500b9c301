"""How strategies split the training data and the budget: per class, per mini-batch, a seeded candidate
pool, and topping a selection up to its budget when a kernel stops early.

Index tensors stay on the labels' device. The class sizes are read back once per selection (a few integers)
because they set the per-class budgets, which are loop bounds of the kernels.
"""

from __future__ import annotations

import torch

__all__ = [
    "batch_groups",
    "candidate_pool",
    "class_balanced_quota",
    "class_members",
    "device_generator",
    "selection_blocks",
    "top_up",
]


def device_generator(generator: torch.Generator, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded from ``generator``: draws happen where the data is, still seeded."""
    if device.type == "cpu":
        return generator
    seed = int(torch.randint(2**62, (), generator=generator))  # drawn on the CPU: no device sync
    return torch.Generator(device=device).manual_seed(seed)


def _largest_remainder(counts: list[int], total: int) -> list[int]:
    """Shares of ``total`` proportional to ``counts`` (largest remainders), with at least one per non-empty
    class where ``total`` allows, never more than a class holds."""
    whole = sum(counts)
    exact = [c * total / whole for c in counts]
    quota = [int(e) for e in exact]
    present = [c > 0 for c in counts]
    if total >= sum(present):
        quota = [max(q, 1) if p else q for q, p in zip(quota, present)]
    while sum(quota) > total:  # the minimum of one per class overshot: take from the largest
        quota[quota.index(max(quota))] -= 1
    for c in sorted(range(len(counts)), key=lambda c: exact[c] - int(exact[c]), reverse=True):
        if sum(quota) >= total:
            break
        if quota[c] < counts[c]:
            quota[c] += 1
    return [min(q, c) for q, c in zip(quota, counts)]


def _class_sizes(labels: torch.Tensor, num_classes: int) -> list[int]:
    return torch.bincount(labels, minlength=num_classes).tolist()  # the one read back per selection


def class_balanced_quota(labels: torch.Tensor, num_classes: int, budget: int) -> torch.Tensor:
    """Samples per class for a subset of ``budget``: proportional to class sizes (largest remainders),
    with at least one per present class where the budget allows."""
    return torch.tensor(_largest_remainder(_class_sizes(labels, num_classes), budget), dtype=torch.int64)


def class_members(labels: torch.Tensor, num_classes: int, budget: int) -> list[tuple[torch.Tensor, int]]:
    """``(indices of class c, in increasing order, its share of the budget)`` for each class with a non-zero
    share; the indices are on the labels' device."""
    sizes = _class_sizes(labels, num_classes)
    by_class = torch.argsort(labels, stable=True).split(sizes)
    quota = _largest_remainder(sizes, budget)
    return [(members, k) for members, k in zip(by_class, quota) if k > 0]


def selection_blocks(
    labels: torch.Tensor, num_classes: int, budget: int, class_balanced: bool
) -> list[tuple[torch.Tensor, int]]:
    """The blocks a static strategy selects within: each class with its share of the budget
    (``class_members``), or all samples with the whole budget."""
    if class_balanced:
        return class_members(labels, num_classes, budget)
    return [(torch.arange(len(labels), device=labels.device), min(budget, len(labels)))]


def candidate_pool(labels: torch.Tensor, num_classes: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Increasing indices of a seeded random ``size`` samples, each class contributing its share.

    Args:
        labels: training labels (n,), on any device.
        num_classes: number of classes.
        size: samples in the pool (clipped to n).
        generator: a generator on the labels' device (see ``device_generator``).
    """
    sizes = _class_sizes(labels, num_classes)
    keys = torch.rand(labels.shape, generator=generator, device=labels.device, dtype=torch.float64)
    # Class first, a random order within each class: the head of each class's run is its random share.
    shuffled = torch.argsort(labels.to(torch.float64) + keys).split(sizes)
    shares = _largest_remainder(sizes, min(size, len(labels)))
    return torch.sort(torch.cat([members[:k] for members, k in zip(shuffled, shares)])).values


def batch_groups(num_samples: int, batch_size: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """A seeded random partition of the samples into mini-batches: (num_samples // batch_size, batch_size).

    The remainder (fewer than ``batch_size`` samples) is left out of this selection round; a new
    permutation at the next round gives every sample its chance.
    """
    batch_size = max(1, min(batch_size, num_samples))
    order = torch.randperm(num_samples, generator=generator, device=device)
    usable = (num_samples // batch_size) * batch_size
    return order[:usable].view(-1, batch_size)


def top_up(
    indices: torch.Tensor, weights: torch.Tensor, num_candidates: int, budget: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add random unchosen candidates until ``budget`` are chosen, as CORDS and AUTOMATA do when OMP stops
    early (at its tolerance, or with no atom left that helps). Added candidates weigh the mean weight of the
    chosen ones (1 if none were chosen): CORDS gives them 1, which is arbitrary on the scale of OMP weights.

    ``indices`` and ``weights`` stay on their device; so do the added ones. ``generator`` must be on it.
    """
    missing = min(budget, num_candidates) - len(indices)
    weights = weights.float()
    if missing <= 0:
        return indices, weights
    keys = torch.rand(num_candidates, generator=generator, device=indices.device)
    keys[indices] = 2.0  # chosen ones last: the smallest keys are random unchosen candidates
    extra = torch.topk(keys, missing, largest=False).indices
    fill = weights.mean() if len(weights) else weights.new_tensor(1.0)
    return torch.cat([indices, extra]), torch.cat([weights, fill.expand(missing)])
