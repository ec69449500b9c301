"""ResNet-18 with the CIFAR stem, after He et al., "Deep residual learning for image recognition" (CVPR 2016).

The ImageNet stem (7x7 stride-2 convolution and max-pool) throws away most of a 32x32 image, so, as is usual
for CIFAR, the stem is a single 3x3 stride-1 convolution without pooling. Four stages of two BasicBlocks
(stride 1, 2, 2, 2) follow, then global average pooling. Weights are initialized locally; nothing downloads.
"""

from __future__ import annotations

import torch
from torch import nn

from cords_tune.models.registry import MODELS
from cords_tune.models.base import Classifier, shape_error
from cords_tune.params import ParamCheck

__all__ = ["BasicBlock", "ResNet", "resnet18"]


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut.

    Args:
        in_channels: channels of the block's input.
        out_channels: channels of the block's output.
        stride: stride of the first convolution (and of the projection shortcut).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(Classifier):
    """A ResNet of BasicBlocks with the CIFAR stem; ``embed`` gives the globally pooled features.

    Args:
        in_channels: channels of the input image.
        num_classes: number of output logits.
        blocks: number of BasicBlocks in each of the four stages ((2, 2, 2, 2) for ResNet-18).
        width: channels of the first stage; the later stages have 2x, 4x and 8x as many.
        zero_init_residual: start the last batch norm of every block at zero, so each block begins as the
            identity (Goyal et al., 2017).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        blocks: tuple[int, int, int, int],
        width: int,
        zero_init_residual: bool,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv3x3(in_channels, width), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        stages: list[nn.Module] = []
        channels = width
        for index, count in enumerate(blocks):
            out_channels = width * 2**index
            stride = 1 if index == 0 else 2
            for block in range(count):
                stages.append(BasicBlock(channels, out_channels, stride if block == 0 else 1))
                channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, BasicBlock):
                    nn.init.zeros_(module.bn2.weight)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled output of the last stage, shape (N, 8 * width)."""
        return self.pool(self.stages(self.stem(x)))


@MODELS.register("resnet18")
def resnet18(
    *, input_shape: tuple[int, ...], num_classes: int, width: int = 64, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-18 with the CIFAR stem (3x3 conv, no max-pool) for image input (C, H, W).

    Args:
        input_shape: shape of one sample, ``(C, H, W)``.
        num_classes: number of classes.
        width: channels of the first stage (>= 1); the embedding has ``8 * width`` features.
        zero_init_residual: start each residual branch at zero so every block begins as the identity.

    Raises:
        ConfigError: a parameter is invalid, or ``input_shape`` is not (C, H, W).
    """
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise shape_error(
            "resnet18",
            "image input of shape (C, H, W)",
            input_shape,
            "Use 'mlp' or 'cnn1d' for vector input.",
        )
    check = ParamCheck("model", "resnet18")
    return ResNet(
        in_channels=input_shape[0],
        num_classes=num_classes,
        blocks=(2, 2, 2, 2),
        width=check.integer("width", width, low=1),
        zero_init_residual=check.boolean("zero_init_residual", zero_init_residual),
    )
