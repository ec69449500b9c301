"""Orthogonal matching pursuit for gradient matching (GRAD-MATCH).

Killamsetty et al., "GRAD-MATCH: Gradient Matching based Data Subset Selection for Efficient Deep Model
Training", ICML 2021.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from cords_tune.selection.functional._cholesky import GrowingCholesky
from cords_tune.selection.functional._common import check_int, check_matrix, check_real, check_vector

__all__ = ["gradmatch_omp"]

_FUNC = "gradmatch_omp"
_COLUMN_MAJOR_FROM = 64  # budget from which a CPU run copies the gradients to column-major order


def _work_dtype(device: torch.device) -> torch.dtype:
    """The dtype of the small support-sized system: float64, except where the device has none (MPS)."""
    return torch.float32 if device.type == "mps" else torch.float64


class _Candidate(NamedTuple):
    """An atom proposed for the support: its row, the factor's new row ``z`` and squared pivot."""

    index: torch.Tensor
    atom: torch.Tensor
    z: torch.Tensor
    pivot_sq: torch.Tensor
    independent: torch.Tensor  # 0-d bool: the pivot is above rounding noise


class _Support:
    """The chosen atoms, in order, with the Cholesky factor of ``A_S A_S^T + lam I`` and ``y = L^{-1} A_S t``.

    Everything lives on the gradients' device; an atom is named by a 0-d index tensor, so adding one reads
    nothing back to the host.
    """

    def __init__(self, gradients: torch.Tensor, target: torch.Tensor, lam: float, capacity: int) -> None:
        work = target.dtype
        device = gradients.device
        self.gradients = gradients
        self.lam = lam
        self.target = target
        self.size = 0
        self.indices = torch.empty(capacity, dtype=torch.int64, device=device)
        self.member = torch.zeros(gradients.shape[0], dtype=torch.bool, device=device)
        self.atoms = torch.empty(capacity, gradients.shape[1], dtype=work, device=device)
        self.rhs = torch.empty(capacity, dtype=work, device=device)
        self.y = torch.empty(capacity, dtype=work, device=device)
        self.cholesky = GrowingCholesky(dtype=work, device=device)
        # An atom whose part orthogonal to the support is below ~sqrt(16 eps) of its norm counts as dependent.
        self.min_pivot = 16 * torch.finfo(gradients.dtype).eps

    def __len__(self) -> int:
        return self.size

    def propose(self, index: torch.Tensor) -> _Candidate:
        """Border the factor with atom ``index`` (0-d) in thought: nothing changes and nothing is read back."""
        atom = self.gradients.index_select(0, index.view(1))[0].to(self.atoms.dtype)
        diagonal = atom @ atom + self.lam
        z, pivot_sq = self.cholesky.border(self.atoms[: self.size] @ atom, diagonal)
        return _Candidate(index, atom, z, pivot_sq, independent=pivot_sq > self.min_pivot * diagonal)

    def add(self, candidate: _Candidate) -> None:
        """Add a proposed atom that is ``independent`` of the support."""
        k = self.size
        self.cholesky.extend(candidate.z, candidate.pivot_sq)
        self.atoms[k] = candidate.atom
        self.rhs[k] = candidate.atom @ self.target
        self.y[k] = (self.rhs[k] - candidate.z @ self.y[:k]) / self.cholesky.factor[k, k]
        self.indices[k] = candidate.index
        self.member[candidate.index] = True
        self.size = k + 1

    def remove(self, position: int) -> None:
        """Drop the atom at ``position`` (in the order of the support)."""
        k = self.size
        self.cholesky.remove(position)
        self.member[self.indices[position]] = False
        for stored in (self.atoms, self.rhs, self.indices):
            stored[position : k - 1] = stored[position + 1 : k].clone()
        self.size = k - 1
        self.y[: k - 1] = self.cholesky.solve_lower(self.rhs[: k - 1])

    def weights(self) -> torch.Tensor:
        """Minimiser of ``|A_S^T w - t|^2 + lam |w|^2`` over the support: ``L^{-T} y``."""
        return self.cholesky.solve_upper(self.y[: self.size])

    def residual(self, weights: torch.Tensor) -> torch.Tensor:
        """``t - A_S^T w``."""
        return self.target - self.atoms[: self.size].mT @ weights


def _restore_nonnegativity(support: _Support, weights: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """Lawson-Hanson inner loop: from the feasible ``previous`` weights (the support before its last atom was
    added, that atom at 0) move towards the least-squares ``weights`` until a weight reaches zero, drop the
    atoms at zero, refit, and repeat until the least-squares weights are positive.

    On return the weights are the least-squares solution on the (possibly smaller) support and positive, hence
    the nonnegative least-squares solution on it.

    Returns:
        The positive weights of the remaining support.
    """
    current = torch.cat([previous, previous.new_zeros(1)])
    while bool((weights <= 0).any()):
        negative = torch.nonzero(weights <= 0).flatten()
        gap = current[negative] - weights[negative]
        ratios = torch.where(gap > 0, current[negative] / gap, 0.0)  # gap 0: already at zero, no move
        step = torch.argmin(ratios)
        current = current + ratios[step] * (weights - current)
        current[negative[step]] = 0
        for position in reversed(torch.nonzero(current <= 0).flatten().tolist()):
            support.remove(position)
        current = current[current > 0]
        weights = support.weights()
    return weights


def gradmatch_omp(
    gradients: torch.Tensor,
    target: torch.Tensor,
    budget: int,
    *,
    lam: float = 0.0,
    nonnegative: bool = True,
    tol: float = 1e-6,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted subset whose weighted gradient sum matches a target, by orthogonal matching pursuit.

    GRAD-MATCH (Killamsetty et al., ICML 2021) solves, with ``g_i`` the rows of ``gradients`` and ``t`` the target,

    ``min_w |sum_i w_i g_i - t|^2 + lam |w|^2  subject to  |w|_0 <= budget  (and w >= 0 if nonnegative)``

    greedily: each step adds the atom most correlated with the residual ``r = t - sum_i w_i g_i`` (largest
    ``<g_i, r>`` when nonnegative, largest ``|<g_i, r>|`` otherwise) and refits the weights on the support
    through the Cholesky factor of ``G_S G_S^T + lam I``, bordered by one row and column per step (two
    triangular solves, no refactoring). When nonnegative and the refit has nonpositive weights, a
    Lawson-Hanson step moves back to the feasible set and drops the atoms that reach zero (which may be picked
    again later), so the weights after every step, and the returned ones, are the nonnegative least-squares
    solution on the returned support, i.e. ``scipy.optimize.nnls`` on ``[G_S^T; sqrt(lam) I] w = [t; 0]``.
    Nonnegative OMP is thus the Lawson-Hanson NNLS algorithm stopped after ``budget`` atoms.

    The cost per step is one product ``gradients @ r`` (n x d) plus O(k d + k^2) for the support of size k.
    Everything stays on the input's device; a step reads back one flag (go on, stop, or refuse a dependent
    atom) and one more (has the refit left the nonnegative orthant). The support system is solved in float64
    (float32 on MPS); the result has the input's device and dtype.

    Args:
        gradients: candidate gradients (n, d), float32 or float64, on any device.
        target: gradient to match (d,), e.g. the sum or mean of all rows or a validation gradient.
        budget: the largest number of atoms to choose (clipped to n).
        lam: ridge penalty on the weights (>= 0).
        nonnegative: constrain the weights to be nonnegative.
        tol: stop once ``|r| <= tol * |t|`` (fewer than ``budget`` atoms; callers top the subset up).

    Returns:
        ``(indices, weights)``: k <= budget distinct int64 indices in the order chosen, and their weights
        (positive when nonnegative). The search also stops early when no atom is positively correlated with
        the residual, or after ``2 * budget + 16`` steps (each drop of an atom costs a step).

    Raises:
        ValueError: an argument is out of its domain.
    """
    gradients = check_matrix(gradients, "gradients", _FUNC)
    target = check_vector(target, "target", _FUNC, like=gradients)
    budget = min(check_int(budget, "budget", _FUNC, minimum=1), gradients.shape[0])
    lam = check_real(lam, "lam", _FUNC, low=0.0)
    tol = check_real(tol, "tol", _FUNC, low=0.0)
    if not isinstance(nonnegative, bool):
        raise ValueError(f"The 'nonnegative' parameter of {_FUNC} must be a bool. Got {nonnegative!r} instead.")

    if gradients.device.type == "cpu" and budget >= _COLUMN_MAJOR_FROM and gradients.stride(1) == 1:
        # MKL's gemv reads a column-major matrix about 1.3x faster than a row-major one; the copy costs about
        # a dozen products, so it pays for itself beyond a few dozen steps (measured, 16000 x 650 float32).
        gradients = gradients.t().contiguous().t()
    work_target = target.to(_work_dtype(gradients.device))
    support = _Support(gradients, work_target, lam, capacity=budget)
    weights = work_target.new_zeros(0)
    residual = work_target
    stop_norm = tol * torch.linalg.vector_norm(work_target)
    refused = torch.zeros(gradients.shape[0], dtype=torch.bool, device=gradients.device)
    # Correlations within this many |g_i| |r| of zero are rounding noise of the float product.
    noise = 8 * torch.finfo(gradients.dtype).eps * math.sqrt(gradients.shape[1])
    correlations = None
    for _ in range(2 * budget + 16):
        if len(support) == budget:
            break
        if correlations is None:
            correlations = torch.mv(gradients, residual.to(gradients.dtype))
            residual_norm = torch.linalg.vector_norm(residual)
        scores = correlations if nonnegative else correlations.abs()
        best_score, best = torch.max(scores.masked_fill(support.member | refused, -math.inf), dim=0)
        candidate = support.propose(best)
        unmatched = residual_norm > stop_norm
        correlated = best_score > noise * torch.linalg.vector_norm(candidate.atom) * residual_norm
        # The step's one read back to the host: go on, stop, or refuse a dependent atom.
        if not bool(unmatched & correlated & candidate.independent):
            if not bool(unmatched & correlated):
                break
            refused[best] = True  # dependent on the support: the residual, hence the correlations, stay
            continue
        support.add(candidate)
        refit = support.weights()
        if nonnegative and bool((refit <= 0).any()):
            refit = _restore_nonnegativity(support, refit, weights)
            refused[best] = ~support.member[best]  # dropped in its own step: no retry, no cycling
        weights = refit
        residual = support.residual(weights)
        correlations = None

    return support.indices[: len(support)].clone(), weights.to(gradients.dtype)
