"""Similarity of last-layer gradients without materialising them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["gradient_cosine_similarity"]


def gradient_cosine_similarity(errors: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """DeepCore's ``0.5 + 0.5 cos(g_i, g_j)`` (n x n, in [0, 1]) of the last-layer gradients ``g_i = e_i [h_i, 1]^T``.

    The gradients are outer products, so ``<g_i, g_j> = <e_i, e_j> <[h_i, 1], [h_j, 1]>`` and their cosine is the
    product of the two factors' cosines: an (n x (C + d)) computation instead of (n x C d). A zero error (a
    sample fit exactly) has cosine 0 with everything, as in DeepCore.

    Args:
        errors: logit errors ``softmax - onehot`` (n, C).
        features: penultimate features (n, d), same rows.
    """
    e = F.normalize(errors, dim=1)
    h = F.normalize(torch.cat([features, features.new_ones(len(features), 1)], dim=1), dim=1)
    return (e @ e.T).mul_(h @ h.T).mul_(0.5).add_(0.5)
