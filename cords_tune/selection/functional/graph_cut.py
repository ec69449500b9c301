"""Graph cut by greedy maximisation (DeepCore's Submodular with the GraphCut function).

Iyer et al., "Submodular Combinatorial Information Measures", ALT 2021; Guo, Zhao and Bai, "DeepCore", 2022.
"""

from __future__ import annotations

import torch

from cords_tune.selection.functional._common import check_int, check_matrix, check_real

__all__ = ["graph_cut"]

_FUNC = "graph_cut"


def graph_cut(similarity: torch.Tensor, budget: int, *, diversity: float = 1.0) -> torch.Tensor:
    """Greedy maximiser of the graph cut ``F(S) = sum_{i in V, j in S} s_ij - diversity * sum_{i, j in S} s_ij``.

    The first term rewards points similar to the whole block (coverage), the second penalises picks similar
    to each other. ``diversity = 1`` is DeepCore's objective (its ``lam = 1``); ``0`` keeps the points of
    largest coverage in order; ``F`` is monotone for ``diversity <= 0.5`` with a nonnegative similarity.

    The gain of j is ``cover_j - diversity * (2 sum_{i in S} s_ij + s_jj)``: one (n,) update per pick.

    Args:
        similarity: one block's (n x n) symmetric similarity, any device.
        budget: the number of points to choose (clipped to n).
        diversity: the weight of the pairwise penalty, >= 0.

    Returns:
        ``min(budget, n)`` distinct int64 indices in the order chosen, on the similarity's device.
    """
    similarity = check_matrix(similarity, "similarity", _FUNC)
    if similarity.shape[0] != similarity.shape[1]:
        shape = tuple(similarity.shape)
        raise ValueError(f"The 'similarity' parameter of {_FUNC} must be square. Got shape {shape} instead.")
    budget = min(check_int(budget, "budget", _FUNC, minimum=1), similarity.shape[0])
    diversity = check_real(diversity, "diversity", _FUNC, low=0.0)
    base = similarity.sum(0) - diversity * similarity.diagonal()
    penalty = torch.zeros_like(base)  # sum over the picks of s_ij
    taken = torch.zeros(base.shape, dtype=torch.bool, device=similarity.device)
    picks = torch.empty(budget, dtype=torch.int64, device=similarity.device)
    for step in range(budget):
        gains = (base - 2 * diversity * penalty).masked_fill_(taken, -torch.inf)
        picks[step] = torch.argmax(gains)
        pick = picks[step : step + 1]  # a (1,) view: indexing with it reads nothing back
        taken.index_fill_(0, pick, True)
        penalty += similarity[pick][0]
    return picks
