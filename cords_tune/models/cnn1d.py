"""A small 1D convolutional network for sequence-like vectors such as MNIST-1D.

Modelled on the CNN of Greydanus & Kobak, "Scaling down deep learning with MNIST-1D" (ICML 2024): three
stride-2 convolutions with ReLU, then a linear layer over the flattened feature map (~94% test accuracy on
mnist1d with 25 channels). Flattening rather than global pooling keeps where a feature occurred, which the
MNIST-1D digits need.
"""

from __future__ import annotations

import torch
from torch import nn

from cords_tune.models.registry import MODELS
from cords_tune.models.base import Classifier, shape_error
from cords_tune.params import ParamCheck

__all__ = ["CNN1d", "cnn1d"]

_LATER_KERNEL = 3  # kernel of the second and third convolution, as in the MNIST-1D paper
_STRIDE = 2
_PADDING = 1


def _conv_length(length: int, kernel_size: int) -> int:
    return (length + 2 * _PADDING - kernel_size) // _STRIDE + 1


def _output_length(length: int, kernel_size: int) -> int:
    """Length of the last feature map for an input of ``length`` (below 1 means the input is too short)."""
    for kernel in (kernel_size, _LATER_KERNEL, _LATER_KERNEL):
        length = _conv_length(length, kernel)
        if length < 1:
            return 0
    return length


class CNN1d(Classifier):
    """Three stride-2 Conv1d + ReLU layers, flattened, then a linear head.

    Args:
        in_channels: channels of the input (1 for a plain vector).
        length: length of the input sequence.
        num_classes: number of output logits.
        channels: channels of every convolution.
        kernel_size: kernel of the first convolution (the later two use 3).
        dropout: dropout probability on the flattened features.
    """

    def __init__(
        self, *, in_channels: int, length: int, num_classes: int, channels: int, kernel_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(in_channels, channels, kernel_size, stride=_STRIDE, padding=_PADDING),
            nn.ReLU(inplace=True),
            nn.Conv1d(channels, channels, _LATER_KERNEL, stride=_STRIDE, padding=_PADDING),
            nn.ReLU(inplace=True),
            nn.Conv1d(channels, channels, _LATER_KERNEL, stride=_STRIDE, padding=_PADDING),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Dropout(dropout),
        )
        self.head = nn.Linear(channels * _output_length(length, kernel_size), num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened last feature map, shape (N, channels * L_out); ``x`` is (N, L) or (N, C, L)."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self.features(x)


@MODELS.register("cnn1d")
def cnn1d(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    channels: int = 32,
    kernel_size: int = 5,
    dropout: float = 0.0,
) -> CNN1d:
    """1D CNN for vector or sequence input (L,) or (C, L), after the MNIST-1D paper's CNN.

    Args:
        input_shape: shape of one sample, ``(L,)`` or ``(C, L)``.
        num_classes: number of classes.
        channels: channels of each of the three convolutions (>= 1).
        kernel_size: kernel of the first convolution (>= 1); the second and third use 3.
        dropout: dropout probability on the flattened features, in [0, 1).

    Raises:
        ConfigError: a parameter is out of range, or ``input_shape`` is not 1D/2D or too short for three
            stride-2 convolutions.
    """
    if len(input_shape) not in (1, 2):
        raise shape_error(
            "cnn1d",
            "vector input of shape (L,) or (C, L)",
            input_shape,
            "Use 'lenet' or 'resnet18' for image input, or 'mlp' for any shape.",
        )
    check = ParamCheck("model", "cnn1d")
    channels = check.integer("channels", channels, low=1)
    kernel_size = check.integer("kernel_size", kernel_size, low=1)
    dropout = check.number("dropout", dropout, low=0.0, high=1.0, high_open=True)
    in_channels, length = (1, input_shape[0]) if len(input_shape) == 1 else input_shape
    if in_channels < 1 or _output_length(length, kernel_size) < 1:
        raise shape_error(
            "cnn1d",
            f"sequences long enough for three stride-2 convolutions (kernel_size={kernel_size})",
            input_shape,
            "Use a smaller 'kernel_size' or 'mlp'.",
        )
    return CNN1d(
        in_channels=in_channels,
        length=length,
        num_classes=num_classes,
        channels=channels,
        kernel_size=kernel_size,
        dropout=dropout,
    )
