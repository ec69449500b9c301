"""Facility location by lazy or stochastic greedy (CRAIG), and by plain greedy over many blocks at once.

Mirzasoleiman, Bilmes and Leskovec, "Coresets for Data-efficient Training of Machine Learning Models",
ICML 2020.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cords_tune.selection.functional._common import (
    check_generator,
    check_int,
    check_matrix,
    check_real,
    random_candidates,
    stochastic_sample_size,
)

__all__ = ["facility_location", "facility_location_blocks", "facility_location_greedy", "facility_location_similarity"]

_FUNC = "facility_location"
_FIRST_BATCH = 8


def facility_location_similarity(features: torch.Tensor) -> torch.Tensor:
    """CRAIG's similarity ``s_ij = max_dist - |f_i - f_j|`` (n x n, nonnegative, symmetric, diagonal max_dist).

    ``max_dist`` is the largest pairwise Euclidean distance in the block. This builds the full (n x n) matrix:
    call it on one block (one class, or one mini-batch of a class), never on a whole large dataset.
    """
    distances = torch.cdist(features, features)
    distances = (0.5 * (distances + distances.T)).clamp_min_(0).fill_diagonal_(0)  # exactly symmetric
    return distances.max() - distances


def _gains(rows: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
    """Marginal gains ``F(S + j) - F(S) = sum_i max(s_ij - coverage_i, 0)`` of the candidates whose similarity
    ``rows`` are given (rows, by symmetry of ``s``), where ``coverage_i = max_{j in S} s_ij`` (0 for the empty
    set). Batched: ``rows`` (..., k, n) and ``coverage`` (..., n) give gains (..., k)."""
    return (rows - coverage.unsqueeze(-2)).clamp_min_(0).sum(-1)


def _cluster_sizes(similarity: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """How many points of the block have each chosen point as their most similar one, in the similarity's dtype."""
    nearest = torch.argmax(similarity[:, indices], dim=1)
    return torch.bincount(nearest, minlength=len(indices)).to(similarity.dtype)


def _lazy_pick(similarity: torch.Tensor, coverage: torch.Tensor, bounds: torch.Tensor) -> int:
    """One lazy-greedy pick (Minoux's accelerated greedy), evaluated in batches.

    ``bounds`` holds upper bounds of every candidate's gain (stale gains stay upper bounds by submodularity;
    chosen items are at -inf) and is tightened in place. The candidates with the largest bounds are
    evaluated exactly, a batch at a time (the batch doubles while needed), until the best exact gain is above
    every remaining bound: that candidate is the plain greedy pick, the lowest index among equal gains (as
    ``torch.argmax`` breaks ties in ``facility_location_blocks``).
    """
    available = int(torch.isfinite(bounds).sum())
    batch = _FIRST_BATCH
    while True:
        top = torch.topk(bounds, min(batch + 1, available))
        candidates = top.indices[:batch]
        exact = _gains(similarity[candidates], coverage)
        bounds[candidates] = exact
        best = exact.max()
        if top.indices.numel() <= batch or bool(best > top.values[batch]):
            return int(candidates[exact == best].min())
        batch *= 2


def facility_location(
    features: torch.Tensor,
    budget: int,
    *,
    stochastic: bool = False,
    epsilon: float = 0.01,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Representative subset of one block by greedy facility location, weighted by cluster sizes (CRAIG).

    CRAIG (Mirzasoleiman et al., ICML 2020) picks ``S`` with ``|S| <= budget`` maximising the monotone
    submodular facility-location function

    ``F(S) = sum_i max_{j in S} s_ij``,  ``s_ij = max_dist - |f_i - f_j|``,

    whose greedy maximiser is within ``1 - 1/e`` of the optimum; the weight of ``j in S`` is the number of
    points whose most similar chosen point is ``j``, so the weighted subset stands in for the block.

    The default lazy greedy returns the plain greedy's picks (up to ties) while evaluating few gains per step;
    stochastic greedy (Mirzasoleiman et al., AAAI 2015) evaluates ``ceil((n / budget) log(1 / epsilon))``
    random candidates per step, for a ``1 - 1/e - epsilon`` guarantee in expectation.

    Works on ONE block: the (n x n) similarity matrix is built in full, so partition large datasets (per class,
    per mini-batch) before calling.

    Args:
        features: one block's features (n, m), e.g. last-layer gradients or embeddings; any device.
        budget: the number of points to choose (clipped to n).
        stochastic: use stochastic greedy instead of lazy greedy.
        epsilon: stochastic greedy's accuracy, in (0, 1).
        generator: source of the stochastic candidates, on the input's device (the global generator when None).

    Returns:
        ``(indices, weights)``: ``min(budget, n)`` distinct int64 indices in the order chosen and their cluster
        sizes in the features' dtype (they sum to n; a chosen duplicate of an earlier pick may get 0).

    Raises:
        ValueError: an argument is out of its domain.
    """
    features = check_matrix(features, "features", _FUNC)
    check_int(budget, "budget", _FUNC, minimum=1)
    return facility_location_greedy(
        facility_location_similarity(features), budget, stochastic=stochastic, epsilon=epsilon, generator=generator
    )


def facility_location_greedy(
    similarity: torch.Tensor,
    budget: int,
    *,
    stochastic: bool = False,
    epsilon: float = 0.01,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy facility location ``max_{|S| <= budget} sum_i max_{j in S} s_ij`` on a given similarity.

    ``facility_location`` with the similarity chosen by the caller (e.g. a cosine kernel, as DeepCore's
    Submodular uses): ``similarity`` is one block's (n x n) nonnegative symmetric matrix. Same greedy, same
    ``(indices, cluster sizes)`` result, the sizes in the similarity's dtype.

    Raises:
        ValueError: an argument is out of its domain, or ``similarity`` is not square.
    """
    similarity = check_matrix(similarity, "similarity", _FUNC)
    if similarity.shape[0] != similarity.shape[1]:
        shape = tuple(similarity.shape)
        raise ValueError(f"The 'similarity' parameter of {_FUNC} must be square. Got shape {shape} instead.")
    budget = min(check_int(budget, "budget", _FUNC, minimum=1), similarity.shape[0])
    if not isinstance(stochastic, bool):
        raise ValueError(f"The 'stochastic' parameter of {_FUNC} must be a bool. Got {stochastic!r} instead.")
    epsilon = check_real(epsilon, "epsilon", _FUNC, low=0.0, high=1.0, low_open=True)
    generator = check_generator(generator, _FUNC)

    n = similarity.shape[0]
    coverage = similarity.new_zeros(n)
    chosen = torch.zeros(n, dtype=torch.bool, device=similarity.device)
    bounds = similarity.sum(0)  # gains at S = {}, exact
    sample_size = stochastic_sample_size(n, budget, epsilon)
    picks: list[int] = []
    for _ in range(budget):
        if stochastic:
            candidates = random_candidates(~chosen, sample_size, generator)
            gains = _gains(similarity[candidates], coverage).masked_fill_(chosen[candidates], -torch.inf)
            pick = int(candidates[torch.argmax(gains)])
        else:
            pick = _lazy_pick(similarity, coverage, bounds)
            bounds[pick] = -torch.inf
        picks.append(pick)
        chosen[pick] = True
        torch.maximum(coverage, similarity[pick], out=coverage)

    indices = torch.tensor(picks, dtype=torch.int64, device=similarity.device)
    return indices, _cluster_sizes(similarity, indices)


def facility_location_blocks(
    blocks: Sequence[torch.Tensor], budgets: Sequence[int]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``facility_location`` of each block by plain greedy, all blocks stepping together: one pick per block per
    step, each step's gains computed for every candidate of every block in one batched operation, and nothing
    read back to the host until the end.

    The picks are the plain greedy's, as the lazy greedy's are (up to ties): the same subsets, in
    ``max(budgets)`` steps of a few kernels each instead of ``sum(budgets)`` steps with a read back in each. It
    holds every block's (n x n) similarity at once, padded to the largest block: for a GPU, where launching
    kernels and waiting for results cost more than the arithmetic.

    Args:
        blocks: each block's features (n_b, m), all on one device and of one dtype.
        budgets: the points to choose in each block (each clipped to its n_b).

    Returns:
        Per block, as ``facility_location``: ``(indices, cluster sizes)``.

    Raises:
        ValueError: an argument is out of its domain.
    """
    if len(blocks) != len(budgets) or not blocks:
        raise ValueError(f"{_FUNC}_blocks needs one budget per block and at least one block. Got {len(blocks)} "
                         f"blocks and {len(budgets)} budgets instead.")
    blocks = [check_matrix(block, "blocks", _FUNC) for block in blocks]
    sizes = [block.shape[0] for block in blocks]
    budgets = [min(check_int(k, "budgets", _FUNC, minimum=1), n) for k, n in zip(budgets, sizes)]
    first = blocks[0]
    count, side, steps = len(blocks), max(sizes), max(budgets)
    similarity = first.new_zeros(count, side, side)
    available = torch.zeros(count, side, dtype=torch.bool, device=first.device)
    for b, block in enumerate(blocks):
        similarity[b, : sizes[b], : sizes[b]] = facility_location_similarity(block)
        available[b, : sizes[b]] = True
    rows = torch.arange(count, device=first.device)
    active = torch.arange(steps, device=first.device)[:, None] < torch.tensor(budgets, device=first.device)
    coverage = first.new_zeros(count, side)
    picks = torch.zeros(count, steps, dtype=torch.int64, device=first.device)
    for step in range(steps):
        gains = _gains(similarity, coverage).masked_fill_(~available, -torch.inf)
        pick = torch.argmax(gains, dim=1)
        picks[:, step] = pick
        available[rows, pick] &= ~active[step]
        coverage = torch.where(active[step][:, None], torch.maximum(coverage, similarity[rows, pick]), coverage)
    return [(picks[b, :k], _cluster_sizes(similarity[b, : sizes[b], : sizes[b]], picks[b, :k]))
            for b, k in enumerate(budgets)]
