"""facility_location (CRAIG) against plain greedy and brute force on small blocks."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from cords_tune.selection.functional import facility_location, facility_location_blocks, facility_location_similarity


def _objective(similarity: torch.Tensor, chosen) -> float:
    return float(similarity[:, list(chosen)].max(1).values.sum())


def _gains(similarity: torch.Tensor, chosen: list[int]) -> dict[int, float]:
    """Every unchosen point's marginal gain, recomputed from scratch (plain greedy)."""
    base = _objective(similarity, chosen) if chosen else 0.0
    return {j: _objective(similarity, chosen + [j]) - base for j in range(len(similarity)) if j not in chosen}


def _features(n: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    centers = 3 * torch.randn(4, 5, generator=generator, dtype=dtype)
    return centers[torch.randint(4, (n,), generator=generator)] + torch.randn(n, 5, generator=generator, dtype=dtype)


def test_similarity_is_nonnegative_symmetric_and_maximal_on_the_diagonal():
    features = _features(30, seed=0)
    similarity = facility_location_similarity(features)
    distances = torch.cdist(features, features)
    torch.testing.assert_close(similarity, distances.max() - distances)
    assert bool((similarity >= 0).all()) and torch.equal(similarity, similarity.T)
    assert bool((similarity.diagonal() == similarity.max()).all())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_lazy_greedy_equals_plain_greedy(seed):
    features = _features(100, seed=seed)
    similarity = facility_location_similarity(features)
    indices = facility_location(features, 20)[0].tolist()
    assert len(set(indices)) == 20
    for step, pick in enumerate(indices):  # every pick is a plain-greedy pick (ties, e.g. mutual nearest pairs, aside)
        gains = _gains(similarity, indices[:step])
        assert gains[pick] == pytest.approx(max(gains.values()), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_is_within_one_minus_one_over_e_of_the_optimum(seed):
    features = _features(9, seed=seed)
    similarity = facility_location_similarity(features)
    indices, _ = facility_location(features, 3)
    optimum = max(_objective(similarity, subset) for subset in itertools.combinations(range(9), 3))
    assert _objective(similarity, indices.tolist()) >= (1 - 1 / math.e) * optimum


@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weights_are_the_cluster_sizes(stochastic, dtype):
    features = _features(50, seed=5, dtype=dtype)
    indices, weights = facility_location(features, 7, stochastic=stochastic, generator=torch.Generator().manual_seed(0))
    assert weights.dtype == dtype and float(weights.sum()) == 50
    nearest = torch.cdist(features.double(), features[indices].double()).argmin(1)
    assert weights.tolist() == torch.bincount(nearest, minlength=7).double().tolist()
    assert bool((weights >= 1).all())  # each chosen point at least covers itself


def test_stochastic_greedy_is_seeded_distinct_and_within_budget():
    features = _features(200, seed=6)
    first, _ = facility_location(features, 15, stochastic=True, generator=torch.Generator().manual_seed(3))
    again, _ = facility_location(features, 15, stochastic=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    assert len(first) == 15 and len(set(first.tolist())) == 15


def test_stochastic_greedy_with_all_candidates_is_the_greedy():
    features = _features(40, seed=7)
    exhaustive, _ = facility_location(features, 6, stochastic=True, epsilon=1e-30)  # sample size >= n
    assert exhaustive.tolist() == facility_location(features, 6)[0].tolist()


def test_budget_is_clipped_to_the_block():
    indices, weights = facility_location(_features(5, seed=8), 9)
    assert sorted(indices.tolist()) == [0, 1, 2, 3, 4] and weights.tolist() == [1.0] * 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0}, r"The 'budget' parameter of facility_location must be >= 1\. Got 0 instead\."),
        ({"epsilon": 0.0}, r"The 'epsilon' parameter of facility_location must be in \(0, 1\)\. Got 0\.0 instead\."),
        ({"epsilon": 1.0}, r"'epsilon' parameter of facility_location must be in \(0, 1\)"),
        ({"stochastic": "yes"}, "'stochastic' parameter of facility_location must be a bool"),
        ({"generator": 3}, "'generator' parameter of facility_location must be a torch.Generator or None"),
        ({"features": torch.ones(4)}, "'features' parameter of facility_location must be a 2-D floating tensor"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, message):
    arguments = {"features": torch.ones(4, 2), "budget": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        facility_location(arguments.pop("features"), arguments.pop("budget"), **arguments)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_blocks_stepping_together_pick_what_each_block_picks_alone(dtype):
    generator = torch.Generator().manual_seed(3)
    blocks = [torch.randn(n, 6, generator=generator, dtype=dtype) for n in (90, 70, 85, 12)]
    budgets = [9, 20, 4, 30]  # the last is clipped to its 12 points
    together = facility_location_blocks(blocks, budgets)
    for block, k, (indices, weights) in zip(blocks, budgets, together):
        alone_indices, alone_weights = facility_location(block, k)
        assert torch.equal(indices, alone_indices)
        assert torch.equal(weights, alone_weights)
        assert weights.sum() == len(block) and weights.dtype == dtype


def test_blocks_need_one_budget_each():
    with pytest.raises(ValueError, match="one budget per block"):
        facility_location_blocks([torch.zeros(4, 2)], [1, 2])
    with pytest.raises(ValueError, match="one budget per block"):
        facility_location_blocks([], [])
