"""Batch augmentations for image tensors, on any device, vectorised over the batch.

A dataset lists the augmentations that suit it in ``DataBundle.augmentations``; training applies them to
training batches only (never to validation or test) with ``augment_batch``:

- ``"crop"``: pad every image with 4 zero pixels on each side, then cut a random H x W window per sample
  (the standard CIFAR "random crop with padding 4"): a random shift of up to 4 pixels, zeros filling in.
- ``"flip"``: mirror each image left-right with probability 0.5.

Randomness comes from ``generator`` when given, so the same generator state gives the same batch. The
random draws happen on the tensor's device, so the generator must live on that device too
(``torch.Generator(device=x.device)``); with ``generator=None`` the device's default generator is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

__all__ = ["AUGMENTATIONS", "CROP_PADDING", "augment_batch", "random_crop", "random_flip"]

CROP_PADDING = 4


def random_crop(x: torch.Tensor, generator: torch.Generator | None = None, padding: int = CROP_PADDING) -> torch.Tensor:
    """Zero-pad ``x`` (N, C, H, W) by ``padding`` and cut one random H x W window per sample.

    Args:
        x: image batch (N, C, H, W).
        generator: source of the window offsets; on ``x.device``.
        padding: pixels of zeros added on each side; offsets are uniform in ``[0, 2 * padding]``.

    Returns:
        A new tensor of the same shape, dtype and device: sample ``i`` is the padded image's window at
        rows ``dy[i] : dy[i] + H`` and columns ``dx[i] : dx[i] + W``.
    """
    n, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=x.device)
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image of ``x`` (N, C, H, W) left-right with probability 0.5.

    Args:
        x: image batch (N, C, H, W).
        generator: source of the coin flips; on ``x.device``.

    Returns:
        A new tensor of the same shape, dtype and device.
    """
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


AUGMENTATIONS: dict[str, Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "crop": random_crop,
    "flip": random_flip,
}


def augment_batch(
    x: torch.Tensor, augmentations: Sequence[str], generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply ``augmentations`` in order to the image batch ``x``.

    Args:
        x: image batch (N, C, H, W), usually float, on any device.
        augmentations: names from ``AUGMENTATIONS`` (``"crop"``, ``"flip"``); empty returns ``x`` itself.
        generator: source of randomness, on ``x.device``; ``None`` uses the device's default generator.

    Returns:
        The augmented batch, same shape, dtype and device as ``x``.

    Raises:
        ValueError: an unknown augmentation name, or ``x`` is not 4-dimensional.
    """
    unknown = [name for name in augmentations if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"Unknown augmentation {unknown[0]!r}. Choose from: {', '.join(AUGMENTATIONS)}.")
    if augmentations and x.ndim != 4:
        raise ValueError(f"augment_batch expects images of shape (N, C, H, W). Got shape {tuple(x.shape)} instead.")
    for name in augmentations:
        x = AUGMENTATIONS[name](x, generator)
    return x
