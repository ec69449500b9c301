"""The contract every model keeps: penultimate features through ``embed`` and a linear ``head``.

Gradient-based selection computes per-sample last-layer gradients in closed form from ``embed(x)`` and
``head`` alone, so a model that keeps this contract works with every strategy.
"""

from __future__ import annotations

import torch
from torch import nn

from cords_tune.errors import ConfigError

__all__ = ["Classifier", "shape_error"]


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


def shape_error(model: str, needs: str, input_shape: tuple[int, ...], hint: str) -> ConfigError:
    """The error for a dataset whose input shape ``model`` cannot take.

    Args:
        model: the model's registered name.
        needs: what the model takes, e.g. ``"image input of shape (C, H, W)"``.
        input_shape: the shape of one sample as the dataset gives it.
        hint: how to fix it, e.g. ``"Use 'mlp' or 'cnn1d' for vector input."``.
    """
    return ConfigError(
        f"model {model!r} needs {needs}; the dataset gives {tuple(input_shape)}. {hint}", path="model.name"
    )
