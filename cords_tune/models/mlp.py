"""A multilayer perceptron over the flattened input: the baseline that takes any input shape."""

from __future__ import annotations

import math

import torch
from torch import nn

from cords_tune.models.registry import MODELS
from cords_tune.models.base import Classifier, shape_error
from cords_tune.params import ParamCheck

__all__ = ["MLP", "mlp"]


class MLP(Classifier):
    """``depth`` blocks of Linear -> ReLU -> Dropout over the flattened input, then a linear head.

    Args:
        in_features: number of input features after flattening.
        num_classes: number of output logits.
        hidden: width of every hidden layer.
        depth: number of hidden layers; ``0`` gives multinomial logistic regression.
        dropout: dropout probability after every hidden layer.
    """

    def __init__(self, *, in_features: int, num_classes: int, hidden: int, depth: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last hidden layer (the flattened input when ``depth == 0``), shape (N, d)."""
        return self.features(x)


@MODELS.register("mlp")
def mlp(
    *, input_shape: tuple[int, ...], num_classes: int, hidden: int = 256, depth: int = 2, dropout: float = 0.0
) -> MLP:
    """Multilayer perceptron with ReLU over the flattened input; takes any input shape.

    Args:
        input_shape: shape of one sample, e.g. ``(40,)`` or ``(3, 32, 32)``.
        num_classes: number of classes.
        hidden: width of every hidden layer (>= 1).
        depth: number of hidden layers (>= 0; 0 is logistic regression).
        dropout: dropout probability after each hidden layer, in [0, 1).

    Raises:
        ConfigError: a parameter is out of range or ``input_shape`` is empty or has a zero dimension.
    """
    if len(input_shape) == 0 or any(size < 1 for size in input_shape):
        raise shape_error("mlp", "input with at least one feature", input_shape, "Check the dataset's input shape.")
    check = ParamCheck("model", "mlp")
    return MLP(
        in_features=math.prod(input_shape),
        num_classes=num_classes,
        hidden=check.integer("hidden", hidden, low=1),
        depth=check.integer("depth", depth, low=0),
        dropout=check.number("dropout", dropout, low=0.0, high=1.0, high_open=True),
    )
