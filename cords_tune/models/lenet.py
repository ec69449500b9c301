"""LeNet-5 for small images, after LeCun et al., "Gradient-based learning applied to document recognition"
(Proc. IEEE, 1998), with ReLU and max-pooling in place of the original squashing units and subsampling.

Both 5x5 convolutions are padded to keep their size, and the last feature map is average-pooled to at most
5x5, so the same network takes 8x8 digits, 28x28 MNIST and 32x32 CIFAR images.
"""

from __future__ import annotations

import torch
from torch import nn

from cords_tune.models.registry import MODELS
from cords_tune.models.base import Classifier, shape_error
from cords_tune.params import ParamCheck

__all__ = ["LeNet", "lenet"]

_MIN_SIZE = 4  # two 2x2 max-pools must leave at least one pixel
_POOLED = 5  # LeNet-5's 16 maps of 5x5


class LeNet(Classifier):
    """conv5 -> ReLU -> pool2 -> conv5 -> ReLU -> pool2 -> adaptive avg-pool -> fc -> fc, then a linear head.

    Channel and unit counts are LeNet-5's (6, 16, 120, 84) times ``width``.

    Args:
        in_channels: channels of the input image.
        image_size: image height and width in pixels, each >= 4.
        num_classes: number of output logits.
        width: multiplier of every layer's channels or units.
        dropout: dropout probability after each fully connected layer.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        image_size: tuple[int, int],
        num_classes: int,
        width: float,
        dropout: float,
    ) -> None:
        super().__init__()
        c1, c2, f1, f2 = (max(1, round(n * width)) for n in (6, 16, 120, 84))
        pooled = (min(_POOLED, image_size[0] // 4), min(_POOLED, image_size[1] // 4))
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(pooled),
            nn.Flatten(),
            nn.Linear(c2 * pooled[0] * pooled[1], f1),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(f1, f2),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.head = nn.Linear(f2, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the second fully connected layer, shape (N, round(84 * width))."""
        return self.features(x)


@MODELS.register("lenet")
def lenet(
    *, input_shape: tuple[int, ...], num_classes: int, width: float = 1.0, dropout: float = 0.0
) -> LeNet:
    """LeNet-5 style CNN for small images (C, H, W) with H, W >= 4, e.g. 8x8 digits, MNIST, CIFAR.

    Args:
        input_shape: shape of one sample, ``(C, H, W)``.
        num_classes: number of classes.
        width: multiplier (> 0) of LeNet-5's 6/16 channels and 120/84 units; 2.0 doubles every layer.
        dropout: dropout probability after each fully connected layer, in [0, 1).

    Raises:
        ConfigError: a parameter is out of range, or ``input_shape`` is not (C, H, W) with H, W >= 4.
    """
    if len(input_shape) != 3:
        raise shape_error(
            "lenet",
            "image input of shape (C, H, W)",
            input_shape,
            "Use 'mlp' or 'cnn1d' for vector input.",
        )
    in_channels, height, image_width = input_shape
    if in_channels < 1 or min(height, image_width) < _MIN_SIZE:
        raise shape_error(
            "lenet",
            f"images of at least {_MIN_SIZE}x{_MIN_SIZE} pixels",
            input_shape,
            "Use 'mlp' for such small inputs.",
        )
    check = ParamCheck("model", "lenet")
    return LeNet(
        in_channels=in_channels,
        image_size=(height, image_width),
        num_classes=num_classes,
        width=check.number("width", width, low=0.0, low_open=True),
        dropout=check.number("dropout", dropout, low=0.0, high=1.0, high_open=True),
    )
