"""A dataset split as tensors on the trial's device, and the per-batch input pipeline
(``uint8`` -> [0, 1] -> normalised, plus augmentation of training batches)."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["DeviceSplit", "on_device", "read_only_tensor", "resolve_device", "scale_inputs"]


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> the GPU Ray assigned to this process (cuda:0 under CUDA_VISIBLE_DEVICES), else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but no CUDA GPU is visible to this process")
    return torch.device(name)


def scale_inputs(x: torch.Tensor, mean: torch.Tensor | None, std: torch.Tensor | None) -> torch.Tensor:
    """The input pipeline of every split and of the saved final model: ``uint8`` -> [0, 1] float, then
    ``(x - mean) / std`` with per-channel ``mean`` / ``std`` already shaped to broadcast (``None``: as is)."""
    if x.dtype == torch.uint8:
        x = x.float().div_(255.0)
    if mean is not None:
        x = (x - mean) / std
    return x


class DeviceSplit:
    """Inputs and labels of one split, moved to ``device`` once.

    Args:
        x, y: arrays from a ``DataBundle`` (possibly read-only views into Ray's object store).
        mean, std: normalisation per index of axis 1 (channel or feature), after ``uint8`` scaling.
        augmentations: applied by ``batch(..., train=True)`` only; validation and test are never augmented.
        channels_last: batches of images come in channels-last memory order (for a model kept in that order).
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        device: torch.device,
        *,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        augmentations: Sequence[str] = (),
        channels_last: bool = False,
    ) -> None:
        self.x = on_device(x, device)
        self.y = on_device(y, device, torch.int64)
        self.device = device
        self.augmentations = tuple(augmentations)
        self.channels_last = channels_last
        shape = (1, -1) + (1,) * (self.x.ndim - 2)
        self._mean = torch.tensor(mean, device=device).view(shape) if mean is not None else None
        self._std = torch.tensor(std, device=device).view(shape) if std is not None else None

    def __len__(self) -> int:
        return int(self.y.numel())

    def batch(
        self, index: torch.Tensor, *, train: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (float32, normalised, augmented if ``train``, in the split's memory order) and labels of the
        samples at ``index``."""
        x = scale_inputs(self.x[index], self._mean, self._std)
        if train and self.augmentations:
            from cords_tune.datasets.augment import augment_batch

            x = augment_batch(x, self.augmentations, generator)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.y[index]


_KEPT_ON_DEVICE: OrderedDict[tuple, tuple[np.ndarray, torch.Tensor]] = OrderedDict()
_KEEP = 6  # a run's train, validation and test arrays, inputs and labels


def on_device(array: np.ndarray, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``array`` as a tensor on ``device``, copied there once per process.

    A Ray worker runs one trial after another on the same read-only arrays (the dataset in the object store),
    so each trial after the first finds them on its GPU already. Only read-only arrays are kept (the cache
    holds the array too, so its memory cannot be reused by another array while it is kept); on the CPU the
    tensor shares the array's memory and nothing is copied or kept.
    """
    if device.type == "cpu" or array.flags.writeable:
        return read_only_tensor(array, dtype).to(device)
    key = (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str, str(device), dtype)
    if key in _KEPT_ON_DEVICE:
        _KEPT_ON_DEVICE.move_to_end(key)
        return _KEPT_ON_DEVICE[key][1]
    tensor = read_only_tensor(array, dtype).to(device)
    _KEPT_ON_DEVICE[key] = (array, tensor)
    while len(_KEPT_ON_DEVICE) > _KEEP:
        _KEPT_ON_DEVICE.popitem(last=False)
    return tensor


def read_only_tensor(array: np.ndarray | torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``torch.as_tensor(array, dtype)`` for a tensor that is only read: torch's warning about a read-only
    array (Ray's object store, a memory-mapped ``np.load``) does not apply to it and is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(array, dtype=dtype)
