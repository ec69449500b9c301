"""A Cholesky factor that grows by one row and column at a time, and shrinks by one where asked.

``torch.linalg.solve_triangular`` copies a strided view before solving, which would cost a full copy of
the factor per greedy step. The factor therefore lives in the top-left corner of a contiguous square
buffer whose unused part is the identity: solving with the whole buffer and a padded right-hand side gives
the same solution in its first rows, with no copy.
"""

from __future__ import annotations

import torch

__all__ = ["GrowingCholesky", "rank_one_update"]


class GrowingCholesky:
    """Lower Cholesky factor ``L`` (k x k) of a symmetric positive definite matrix ``K = L L^T``.

    Args:
        dtype: dtype of the factor.
        device: device of the factor.
        block: capacity step of the buffer, in rows.
    """

    def __init__(self, *, dtype: torch.dtype, device: torch.device, block: int = 128) -> None:
        self.size = 0
        self._block = block
        self._buffer = torch.eye(block, dtype=dtype, device=device)
        self._rhs = torch.zeros(block, 1, dtype=dtype, device=device)  # reused zero-padded right-hand side

    @property
    def factor(self) -> torch.Tensor:
        """The factor ``L`` as a (k, k) view."""
        return self._buffer[: self.size, : self.size]

    def _pad(self, rhs: torch.Tensor) -> torch.Tensor:
        # The buffer is block diagonal, [[L, 0], [0, I]]: what the padding holds leaves the first ``size``
        # entries of the solution unchanged, so one buffer serves every solve.
        self._rhs[: self.size, 0] = rhs
        return self._rhs

    def solve_lower(self, rhs: torch.Tensor) -> torch.Tensor:
        """``L^{-1} rhs`` for ``rhs`` of shape (k,)."""
        return torch.linalg.solve_triangular(self._buffer, self._pad(rhs), upper=False)[: self.size, 0]

    def solve_upper(self, rhs: torch.Tensor) -> torch.Tensor:
        """``L^{-T} rhs`` for ``rhs`` of shape (k,)."""
        return torch.linalg.solve_triangular(self._buffer.mT, self._pad(rhs), upper=True)[: self.size, 0]

    def border(self, cross: torch.Tensor, diagonal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What bordering ``K`` with a new last row/column ``[cross, diagonal]`` would add, without adding it.

        Returns:
            ``z = L^{-1} cross`` (the new row of ``L`` left of its diagonal) and the squared pivot
            ``diagonal - |z|^2`` (0-d): the new column is numerically dependent on the old ones when it is at
            most a small multiple of ``diagonal``. Nothing is read back to the host.
        """
        z = self.solve_lower(cross)
        return z, diagonal - z @ z

    def extend(self, z: torch.Tensor, pivot_sq: torch.Tensor) -> None:
        """Border the factor with the row ``[z, sqrt(pivot_sq)]`` from ``border``."""
        k = self.size
        capacity = self._buffer.shape[0]
        if k == capacity:
            grown = torch.eye(capacity + self._block, dtype=self._buffer.dtype, device=self._buffer.device)
            grown[:capacity, :capacity] = self._buffer
            self._buffer = grown
            self._rhs = self._buffer.new_zeros(capacity + self._block, 1)
        self._buffer[k, :k] = z
        self._buffer[k, k] = torch.sqrt(pivot_sq)
        self.size = k + 1

    def append(self, cross: torch.Tensor, diagonal: torch.Tensor, *, min_pivot: float) -> torch.Tensor | None:
        """Border ``K`` with a new last row/column ``[cross, diagonal]``.

        Args:
            cross: the new off-diagonal column ``K[:k, k]`` (k,).
            diagonal: the new diagonal entry ``K[k, k]`` (0-d).
            min_pivot: the smallest accepted squared pivot, relative to ``diagonal``.

        Returns:
            ``z = L^{-1} cross``, or ``None`` (and no change) when the squared pivot is at most
            ``min_pivot * diagonal``, i.e. the new column is numerically dependent on the old ones.
        """
        z, pivot_sq = self.border(cross, diagonal)
        if not bool(pivot_sq > min_pivot * diagonal):
            return None
        self.extend(z, pivot_sq)
        return z

    def remove(self, position: int) -> None:
        """Delete row and column ``position`` of ``K``.

        With ``L = [[L11, 0, 0], [l21, l22, 0], [L31, l32, L33]]``, deleting the middle row and column of
        ``K`` leaves the factor ``[[L11, 0], [L31, L33']]`` with ``L33' L33'^T = L33 L33^T + l32 l32^T``, a
        rank-one update done in O(m^2) for the m trailing rows (see ``rank_one_update``).
        """
        k = self.size
        buffer = self._buffer
        if position < k - 1:
            updated = rank_one_update(buffer[position + 1 : k, position + 1 : k], buffer[position + 1 : k, position])
            buffer[position : k - 1, :position] = buffer[position + 1 : k, :position].clone()
            buffer[position : k - 1, position : k - 1] = updated
        buffer[k - 1, :k] = 0
        buffer[k - 1, k - 1] = 1
        self.size = k - 1


def rank_one_update(factor: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor of ``L L^T + x x^T`` from ``L`` (m x m, lower) and ``x`` (m,), in O(m^2).

    With ``v = L^{-1} x``, ``L L^T + x x^T = L (I + v v^T) L^T``, and ``I + v v^T = M D M^T`` in closed form
    (Gill, Golub, Murray and Saunders, "Methods for modifying matrix factorizations", Math. Comp. 1974):
    with ``t_0 = 1``, ``t_j = t_{j-1} + v_j^2``: ``D_j = t_j / t_{j-1}`` and ``M_ij = v_i v_j / t_j`` for ``i > j``.
    Then ``L' = L M D^{1/2}``, whose column j is ``(L_:j + (v_j / t_j) sum_{i > j} v_i L_:i) sqrt(D_j)``: one
    triangular solve and one reversed cumulative sum, no loop. The update is positive, so ``t`` grows and the
    formula is stable.
    """
    v = torch.linalg.solve_triangular(factor, vector[:, None], upper=False)[:, 0]
    t = 1 + torch.cumsum(v * v, 0)
    t_before = torch.cat([t.new_ones(1), t[:-1]])
    tail_sums = (factor * v).flip(1).cumsum(1).flip(1)  # column j: sum_{i >= j} v_i L_:i
    suffix = torch.cat([tail_sums[:, 1:], tail_sums.new_zeros(len(v), 1)], dim=1)  # sum_{i > j}
    return (factor + suffix * (v / t)) * torch.sqrt(t / t_before)
