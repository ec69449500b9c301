"""The contract every model keeps: penultimate features through ``embed`` and a linear ``head``.

Gradient-based selection computes per-sample last-layer gradients in closed form from ``embed(x)`` and
``head`` alone, so a model that keeps this contract works with every strategy.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Classifier"]


class Classifier(nn.Module):
    """A classifier split into a feature extractor and a last linear layer.

    Subclasses set ``self.head = nn.Linear(embedding_dim, num_classes)`` and implement ``embed``.
    """

    head: nn.Linear

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features, shape (N, embedding_dim)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    @property
    def embedding_dim(self) -> int:
        return self.head.in_features
