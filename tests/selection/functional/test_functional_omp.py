"""gradmatch_omp against scipy.optimize.nnls and brute force on tiny problems."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import nnls

from cords_tune.selection.functional import gradmatch_omp
from cords_tune.selection.functional import omp as omp_module


def _stacked(gradients: torch.Tensor, target: torch.Tensor, indices, lam: float):
    atoms = gradients[list(indices)].double().numpy()
    matrix = np.vstack([atoms.T, np.sqrt(lam) * np.eye(len(atoms))])
    rhs = np.concatenate([target.double().numpy(), np.zeros(len(atoms))])
    return matrix, rhs


def _nnls_on(gradients, target, indices, lam):
    return nnls(*_stacked(gradients, target, indices, lam))[0]


def _objective(gradients, target, indices, weights, lam) -> float:
    matrix, rhs = _stacked(gradients, target, indices, lam)
    return float(np.sum((matrix @ np.asarray(weights, dtype=np.float64) - rhs) ** 2))


def _orthogonal_atoms(n: int, d: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    """Orthogonal atoms of one norm: there the greedy choice by correlation is the best support."""
    generator = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, n, generator=generator, dtype=torch.float64))
    return (1.7 * basis.T).to(dtype)


@pytest.mark.parametrize("lam", [0.0, 0.3])
@pytest.mark.parametrize("budget", [1, 2, 3])
def test_orthogonal_atoms_give_the_brute_force_optimum(lam, budget):
    gradients = _orthogonal_atoms(8, 12, seed=budget)
    target = torch.randn(12, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    indices, weights = gradmatch_omp(gradients, target, budget, lam=lam)
    best = min(
        _objective(gradients, target, support, _nnls_on(gradients, target, support, lam), lam)
        for support in itertools.combinations(range(8), budget)
    )
    assert _objective(gradients, target, indices.tolist(), weights.numpy(), lam) == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_nonnegative_combination_is_recovered(dtype):
    gradients = _orthogonal_atoms(8, 10, seed=3, dtype=dtype)
    target = 2.0 * gradients[1] + 0.5 * gradients[6]
    indices, weights = gradmatch_omp(gradients, target, 3)
    assert indices.dtype == torch.int64 and weights.dtype == dtype
    assert sorted(indices.tolist()) == [1, 6]  # stopped by tol: the residual is zero after two atoms
    order = torch.argsort(indices)
    torch.testing.assert_close(weights[order], torch.tensor([2.0, 0.5], dtype=dtype), rtol=1e-4, atol=1e-5)


def test_sparse_combination_of_generic_atoms_is_recovered():
    generator = torch.Generator().manual_seed(0)
    gradients = torch.randn(8, 40, generator=generator, dtype=torch.float64)
    target = 1.5 * gradients[2] + 1.0 * gradients[5]
    indices, weights = gradmatch_omp(gradients, target, 3)
    matched = gradients[indices].T @ weights
    assert float(torch.linalg.vector_norm(matched - target)) <= 1e-6 * float(torch.linalg.vector_norm(target))
    assert len(indices) <= 3


@pytest.mark.parametrize("lam", [0.0, 0.5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weights_are_the_nnls_solution_on_the_support(lam, dtype, monkeypatch):
    drops = []
    remove = omp_module._Support.remove
    monkeypatch.setattr(omp_module._Support, "remove", lambda self, p: (drops.append(p), remove(self, p)))
    generator = torch.Generator().manual_seed(4)
    gradients = torch.randn(60, 10, generator=generator, dtype=torch.float64)
    gradients[:, 0] += 1.0
    target = torch.randn(10, generator=generator, dtype=torch.float64) + gradients[:30].sum(0) / 10
    indices, weights = gradmatch_omp(gradients.to(dtype), target.to(dtype), 10, lam=lam)
    assert 0 < len(indices) <= 10 and len(set(indices.tolist())) == len(indices)
    assert bool((weights > 0).all())
    expected = _nnls_on(gradients.to(dtype), target.to(dtype), indices.tolist(), lam)
    tolerance = 1e-4 if dtype == torch.float32 else 1e-9
    np.testing.assert_allclose(weights.double().numpy(), expected, rtol=tolerance, atol=tolerance)
    assert drops, "this problem should exercise the Lawson-Hanson drop of atoms"


def test_signed_weights_are_the_ridge_least_squares_solution():
    generator = torch.Generator().manual_seed(2)
    gradients = torch.randn(50, 10, generator=generator, dtype=torch.float64)
    target = torch.randn(10, generator=generator, dtype=torch.float64)
    indices, weights = gradmatch_omp(gradients, target, 6, lam=0.2, nonnegative=False, tol=0.0)
    assert len(indices) == 6
    matrix, rhs = _stacked(gradients, target, indices.tolist(), 0.2)
    np.testing.assert_allclose(weights.numpy(), np.linalg.lstsq(matrix, rhs, rcond=None)[0], rtol=1e-9, atol=1e-12)


def test_sign_constraint_decides_what_an_anti_correlated_target_gets():
    gradients = _orthogonal_atoms(6, 8, seed=4)
    target = -1.5 * gradients[3]
    indices, weights = gradmatch_omp(gradients, target, 2)
    assert len(indices) == 0 and len(weights) == 0  # no atom correlates positively: nothing helps
    indices, weights = gradmatch_omp(gradients, target, 2, nonnegative=False)
    assert indices.tolist() == [3]
    torch.testing.assert_close(weights, torch.tensor([-1.5], dtype=torch.float64))


def test_duplicate_atoms_are_chosen_once():
    generator = torch.Generator().manual_seed(3)
    base = torch.randn(10, 30, generator=generator, dtype=torch.float64)
    gradients = torch.cat([base, base])  # singular Gram for any support holding a pair
    target = base[:6].sum(0) + 0.1 * torch.randn(30, generator=generator, dtype=torch.float64)
    indices, weights = gradmatch_omp(gradients, target, 12)
    assert len(set((indices % 10).tolist())) == len(indices)
    np.testing.assert_allclose(weights.numpy(), _nnls_on(gradients, target, indices.tolist(), 0.0), atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_the_full_gradient_far_better_than_a_random_subset(dtype):
    generator = torch.Generator().manual_seed(5)
    centers = torch.randn(5, 50, generator=generator)
    gradients = (centers[torch.randint(5, (2000,), generator=generator)] + torch.randn(2000, 50, generator=generator))
    gradients = gradients.to(dtype)
    target = gradients.sum(0)
    indices, weights = gradmatch_omp(gradients, target, 200)
    assert 0 < len(indices) <= 200 and len(set(indices.tolist())) == len(indices)

    def error(chosen, w):
        return float(torch.linalg.vector_norm(gradients[chosen].double().T @ w.double() - target.double()))

    k = len(indices)
    chosen = torch.randperm(2000, generator=generator)[:k]
    summed = gradients[chosen].double().sum(0)
    scale = float(summed @ target.double() / (summed @ summed))
    random_error = min(error(chosen, torch.full((k,), 2000 / k)), error(chosen, torch.full((k,), scale)))
    assert error(indices, weights) < 0.5 * random_error


def test_budget_larger_than_n_and_zero_target():
    gradients = torch.randn(4, 6, dtype=torch.float64)
    indices, _ = gradmatch_omp(gradients, gradients.sum(0), 10, nonnegative=False, tol=0.0)
    assert len(indices) <= 4
    indices, weights = gradmatch_omp(gradients, torch.zeros(6, dtype=torch.float64), 3)
    assert indices.numel() == 0 and weights.numel() == 0 and weights.dtype == torch.float64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0}, "The 'budget' parameter of gradmatch_omp must be >= 1. Got 0 instead."),
        ({"budget": 2.5}, "'budget' parameter of gradmatch_omp must be an int"),
        ({"budget": True}, "'budget' parameter of gradmatch_omp must be an int"),
        ({"lam": -1.0}, "The 'lam' parameter of gradmatch_omp must be >= 0. Got -1.0 instead."),
        ({"tol": float("nan")}, "'tol' parameter of gradmatch_omp must be a real number"),
        ({"nonnegative": 1}, "'nonnegative' parameter of gradmatch_omp must be a bool"),
        ({"gradients": torch.ones(5)}, "'gradients' parameter of gradmatch_omp must be a 2-D floating tensor"),
        ({"gradients": torch.ones(5, 3, dtype=torch.int64)}, "'gradients' parameter of gradmatch_omp"),
        ({"gradients": torch.ones(0, 3)}, "'gradients' parameter of gradmatch_omp must be non-empty"),
        ({"target": torch.ones(4)}, "'target' parameter of gradmatch_omp must be a 1-D floating tensor of 3"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, message):
    arguments = {"gradients": torch.ones(5, 3), "target": torch.ones(3), "budget": 2} | kwargs
    budget = arguments.pop("budget")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        gradmatch_omp(arguments.pop("gradients"), arguments.pop("target"), budget, **arguments)
