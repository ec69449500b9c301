"""Arrays to the trial's device: read-only (object-store) arrays are copied once per process."""

from __future__ import annotations

import numpy as np
import torch

from cords_tune.training.device_data import DeviceSplit, on_device


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def test_a_read_only_array_is_copied_to_a_device_once_and_found_there_by_the_next_trial():
    meta = torch.device("meta")  # not the CPU: the cached path, without a GPU
    x = _read_only(np.zeros((5, 3), dtype=np.uint8))
    first, again = on_device(x, meta), on_device(x, meta)
    assert first is again and first.device.type == "meta" and first.shape == (5, 3)
    view = x.view()  # another view of the same memory, as each trial's fetch from the object store gives
    view.flags.writeable = False
    assert on_device(view, meta) is first
    labels = on_device(x[:, 0], meta, torch.int64)
    assert labels.dtype == torch.int64 and labels is not first


def test_writable_arrays_are_never_kept_and_the_cpu_shares_memory():
    meta = torch.device("meta")
    x = np.zeros((4, 2), dtype=np.float32)
    assert on_device(x, meta) is not on_device(x, meta)  # the caller may change it between trials
    shared = on_device(_read_only(np.arange(6, dtype=np.float32)), torch.device("cpu"))
    assert shared.data_ptr() != 0 and shared.device.type == "cpu"
    split = DeviceSplit(x, np.array([0, 1, 0, 1]), torch.device("cpu"))
    x[0, 0] = 5.0
    assert split.x[0, 0] == 5.0  # no copy on the CPU


def test_the_kept_arrays_are_bounded():
    meta = torch.device("meta")
    arrays = [_read_only(np.zeros(i + 1, dtype=np.float32)) for i in range(10)]
    tensors = [on_device(a, meta) for a in arrays]
    assert on_device(arrays[-1], meta) is tensors[-1]
    assert on_device(arrays[0], meta) is not tensors[0]  # evicted long ago
