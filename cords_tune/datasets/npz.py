"""``npz``: the user's own arrays, from one NumPy ``.npz`` file (``np.savez``).

The file holds ``x_train`` and ``y_train``, and optionally ``x_test`` and ``y_test`` (both or neither);
without them a stratified test split of ``test_fraction`` is drawn with the experiment seed. Inputs:
``uint8`` arrays of shape (N, C, H, W) are images and stay ``uint8`` (scaled to [0, 1] and normalised with
their training pixels' per-channel mean and std on the trial's device); ``uint8`` arrays of shape (N, H, W)
are one-channel images (N, 1, H, W); any other numbers become ``float32`` as they are. Labels are mapped to
class indices as ``cords_tune.datasets.files`` describes. The file is read with ``allow_pickle=False``:
it cannot run code, and string labels must be saved as a fixed-width string array (``dtype=str``).
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

from cords_tune.datasets.registry import DATASETS
from cords_tune.datasets.bundle import TrainTest
from cords_tune.datasets.files import ArraySource, UserPath, encode_labels, resolve_path, split_or_keep
from cords_tune.params import ParamCheck

__all__ = ["npz", "train_test_from_arrays", "checked_inputs"]

logger = logging.getLogger(__name__)

_NAME = "npz"
_REQUIRED = ("x_train", "y_train")
_TEST = ("x_test", "y_test")
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


@DATASETS.register(_NAME)
def npz(
    *, data_dir: Path, seed: int, path: str | None = None, test_fraction: float = 0.2, standardize: bool = True
) -> TrainTest:
    """Your own arrays from an .npz file: x_train, y_train and optionally x_test, y_test.

    Args:
        data_dir: unused (the file is read where it is); part of the loader contract.
        seed: seeds the stratified train/test split when the file has no test arrays.
        path: the ``.npz`` file (required); a relative path is relative to the current directory.
        test_fraction: share of the samples held out as the test split, in (0, 1); used only when the file
            has no ``x_test`` / ``y_test``.
        standardize: normalise float inputs with the mean and std of their training part, per index of
            axis 1 (a feature of (N, F), a channel of (N, C, ...)); applied on the device and by the saved
            model, so predictions take inputs as the file holds them. Images (``uint8``) always are.

    Returns:
        ``uint8`` images (N, C, H, W) or ``float32`` inputs (N, ...), int64 labels in ``[0, num_classes)``.

    Raises:
        ConfigError: a bad parameter, a missing or unreadable file, missing arrays (the message lists the
            ones the file has), inputs that are not numbers, lengths or shapes that disagree, bad labels.
    """
    check = ParamCheck("dataset", _NAME)
    test_fraction = check.number("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    standardize = check.boolean("standardize", standardize)
    source = resolve_path(_NAME, "path", path, kind="file", what="an .npz file with arrays x_train and y_train")
    raw = train_test_from_arrays(_read(source), source, seed=seed, test_fraction=test_fraction, standardize=standardize)
    logger.debug("npz: %d train / %d test samples of shape %s from %s", len(raw.y_train), len(raw.y_test),
                 raw.x_train.shape[1:], source)
    return raw


def train_test_from_arrays(
    arrays: Mapping[str, Any], source: ArraySource, *, seed: int, test_fraction: float, standardize: bool,
    feature_names: tuple[str, ...] | None = None,
) -> TrainTest:
    """The splits of ``x_train``, ``y_train`` and optionally ``x_test``, ``y_test``, checked and converted as the
    module says; ``source`` names where they came from in error messages; ``feature_names``: the columns of a
    table's inputs, kept for the saved model."""
    x_train = checked_inputs(arrays["x_train"], source, "x_train")
    _same_length(x_train, arrays["y_train"], source, "x_train", "y_train")
    x_test = y_test = None
    if "x_test" in arrays:
        x_test = checked_inputs(arrays["x_test"], source, "x_test")
        _same_length(x_test, arrays["y_test"], source, "x_test", "y_test")
        if x_test.shape[1:] != x_train.shape[1:] or x_test.dtype != x_train.dtype:
            raise source.error(
                f"must hold test inputs like its training inputs. Got x_test of shape {x_test.shape[1:]} "
                f"({x_test.dtype}) per sample instead of x_train's {x_train.shape[1:]} ({x_train.dtype})"
            )
    y_train, y_test, classes = encode_labels(
        arrays["y_train"], source, arrays.get("y_test"), source if x_test is not None else None,
        what="labels (y_train, y_test)",
    )
    return split_or_keep(
        source, x_train, y_train, x_test, y_test, classes=classes, test_fraction=test_fraction, seed=seed,
        standardize=standardize, feature_names=feature_names,
    )


def _read(source: UserPath) -> dict[str, np.ndarray]:
    """The arrays the loader needs from the archive, read without unpickling anything."""
    try:
        archive = np.load(source.path, allow_pickle=False)
    except _READ_ERRORS as exc:
        # Neither a zip nor a .npy file: NumPy takes it for a pickle, which is never loaded (it could run code).
        reason = "it is not one" if "pickle" in str(exc) else f"{type(exc).__name__}: {exc}"
        raise source.error(f"cannot be read as an .npz archive ({reason}). Save the arrays with "
                           "np.savez(path, x_train=..., y_train=...)") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise source.error("holds a single array (.npy format), not named arrays. Save them with "
                           "np.savez(path, x_train=..., y_train=...)")
    with archive:
        names = list(archive.files)
        has = f"It holds: {', '.join(names)}" if names else "It holds no arrays"
        missing = [name for name in _REQUIRED if name not in names]
        if missing:
            raise source.error(f"must hold the arrays {' and '.join(_REQUIRED)}. Got no {' or '.join(missing)}. "
                               f"{has}. Save them with np.savez(path, x_train=..., y_train=...)")
        present = [name for name in _TEST if name in names]
        if len(present) == 1:
            other = next(name for name in _TEST if name not in names)
            raise source.error(f"must hold both x_test and y_test or neither. Got {present[0]} but no {other}. {has}")
        arrays = {}
        for name in _REQUIRED + tuple(present):
            try:
                arrays[name] = archive[name]
            except ValueError as exc:  # an object array, which only unpickling could read
                raise source.error(f"must hold plain arrays. Got {name!r}, which cannot be read without "
                                   f"unpickling ({exc}). Save labels as strings (np.asarray(y, dtype=str)) or "
                                   "integers") from None
            except _READ_ERRORS as exc:
                raise source.error(f"cannot be read: array {name!r} is damaged ({type(exc).__name__}: "
                                   f"{exc})") from None
    return arrays


def checked_inputs(x: np.ndarray, source: ArraySource, name: str) -> np.ndarray:
    """``x`` as ``uint8`` images (N, C, H, W) or ``float32`` inputs, checked (also for prediction)."""
    if x.dtype == np.uint8 and x.ndim == 3:
        x = x[:, None]  # (N, H, W): one-channel images
    if x.dtype == np.uint8 and x.ndim == 4:
        return np.ascontiguousarray(x)
    if x.dtype.kind not in "biuf":
        raise source.error(f"must hold numbers in {name}. Got an array of type {x.dtype} instead")
    if x.ndim < 2:
        raise source.error(f"must hold {name} of shape (N, features...). Got shape {x.shape} instead; for one "
                           "feature per sample, save x.reshape(-1, 1)")
    x = x.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        raise source.error(f"must hold finite numbers in {name}. Got {int(bad.sum())} NaN or infinite value(s) "
                           "(as float32) instead")
    return x


def _same_length(x: np.ndarray, y: Any, source: ArraySource, x_name: str, y_name: str) -> None:
    if np.ndim(y) != 1 or len(x) != len(y):
        raise source.error(f"must hold one label per sample. Got {x_name} of {len(x)} samples and {y_name} of "
                           f"shape {np.shape(y)} instead")
