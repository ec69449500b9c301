"""The growing Cholesky factor behind gradmatch_omp: append, remove and the O(m^2) rank-one update."""

from __future__ import annotations

import random

import pytest
import torch

from cords_tune.selection.functional._cholesky import GrowingCholesky, rank_one_update


def _spd(m: int, seed: int) -> torch.Tensor:
    a = torch.randn(m, m + 5, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T / m + 0.05 * torch.eye(m, dtype=torch.float64)


@pytest.mark.parametrize("m", [1, 2, 7, 60])
def test_rank_one_update_matches_a_fresh_factorization(m):
    matrix = _spd(m, seed=m)
    vector = torch.randn(m, generator=torch.Generator().manual_seed(99), dtype=torch.float64)
    updated = rank_one_update(torch.linalg.cholesky(matrix), vector)
    torch.testing.assert_close(updated, torch.linalg.cholesky(matrix + torch.outer(vector, vector)))


def test_appends_and_removals_track_the_factor_of_the_submatrix():
    matrix = _spd(300, seed=0)  # more rows than one buffer block: the buffer grows
    factor = GrowingCholesky(dtype=torch.float64, device=torch.device("cpu"), block=64)
    for i in range(300):
        assert factor.append(matrix[:i, i], matrix[i, i], min_pivot=1e-12) is not None
    kept = list(range(300))
    rng = random.Random(0)
    for _ in range(120):
        position = rng.randrange(len(kept))
        factor.remove(position)
        kept.pop(position)
    sub = matrix[kept][:, kept]
    torch.testing.assert_close(factor.factor, torch.linalg.cholesky(sub))
    rhs = torch.randn(len(kept), dtype=torch.float64)
    torch.testing.assert_close(factor.solve_upper(factor.solve_lower(rhs)), torch.linalg.solve(sub, rhs))


def test_dependent_column_is_refused_without_change():
    atoms = torch.randn(3, 5, dtype=torch.float64)
    atoms = torch.cat([atoms, (atoms[0] + 2 * atoms[2])[None]])
    gram = atoms @ atoms.T
    factor = GrowingCholesky(dtype=torch.float64, device=torch.device("cpu"))
    for i in range(3):
        assert factor.append(gram[:i, i], gram[i, i], min_pivot=1e-10) is not None
    before = factor.factor.clone()
    assert factor.append(gram[:3, 3], gram[3, 3], min_pivot=1e-10) is None
    assert factor.size == 3 and torch.equal(factor.factor, before)
