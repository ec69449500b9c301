"""What the loaders of a user's own files (``npz``, ``csv``, ``image_folder``) share: resolving the paths
they are given, turning labels into class indices, and assembling the train and test splits.

Paths are taken as given (``~`` expanded); a relative path is relative to the current directory. Every
mistake in a path or in what the file holds is a ``ConfigError`` whose path is the parameter that named the
file (``dataset.params.path`` or ``dataset.params.test_path``), and whose message shows the path as given
and the absolute path that was tried.

Labels: integers ``0 .. C-1`` (integral floats such as ``1.0`` count as integers) with every class present in
the training data are the class indices as they are. Any other labels (``3, 7, 9``; ``"cat", "dog"``;
``True, False``) are sorted, and the ``i``-th distinct training value becomes class ``i``; the mapping is
logged, and kept (``TrainTest.classes``) so that the saved model predicts the labels themselves.
Non-integral numbers, NaN, fewer than two classes and test labels that never occur in the training data are
errors.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from cords_tune.datasets.bundle import TrainTest, stratified_split
from cords_tune.errors import ConfigError

__all__ = ["FILE_DATASETS", "ArraySource", "UserPath", "resolve_path", "encode_labels", "split_or_keep", "channel_stats"]

logger = logging.getLogger(__name__)

FILE_DATASETS: tuple[str, ...] = ("npz", "csv", "image_folder")  # the datasets that read the user's own files

_SHOWN = 5  # how many offending values or names a message lists
_LOGGED_CLASSES = 20  # how many entries of a label mapping the log shows


class ArraySource(Protocol):
    """Where arrays came from, for error messages: a file (``UserPath``) or the data given from Python."""

    dataset: str

    def error(self, message: str) -> ConfigError: ...


@dataclass(frozen=True)
class UserPath:
    """A path from a dataset parameter, resolved.

    Attributes:
        dataset: the dataset's registry name.
        param: the parameter that gave it (``"path"``, ``"test_path"``).
        given: the path as the user wrote it.
        path: the absolute path it stands for.
    """

    dataset: str
    param: str
    given: str
    path: Path

    def __str__(self) -> str:
        shown = repr(self.given)
        return shown if self.given == str(self.path) else f"{shown} ({self.path})"

    def error(self, message: str) -> ConfigError:
        """A ``ConfigError`` about what this file holds: ``"<path> <message>"``, at this parameter's path."""
        return ConfigError(f"{self} {message}", path=f"dataset.params.{self.param}")


def resolve_path(dataset: str, param: str, value: Any, *, kind: Literal["file", "directory"], what: str) -> UserPath:
    """Check that ``value`` names an existing, readable file (or directory) and resolve it.

    Args:
        dataset: the dataset's registry name, for messages.
        param: the parameter that gave ``value``.
        value: the path as given (a string or ``os.PathLike``); relative to the current directory.
        kind: whether a file or a directory is expected.
        what: what the path must name, for messages (e.g. ``"an .npz file"``).

    Raises:
        ConfigError: ``value`` is missing or not a path, names nothing, the other kind of thing, or
            something this process may not read (path ``dataset.params.<param>``).
    """
    where = f"dataset.params.{param}"
    intro = f"The {param!r} parameter of dataset {dataset!r} must be the path of {what}"
    if value is None:
        raise ConfigError(f"{intro}; it has no default. Set {where}", path=where)
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ConfigError(f"{intro}. Got {value!r} instead", path=where)
    given = str(value)
    path = Path(given).expanduser().absolute()
    got = f"Got {given!r} instead: " + ("it" if given == str(path) else str(path))
    if not path.exists():
        hint = ""
        if not Path(given).expanduser().is_absolute():
            hint = (f". Relative paths are read from the current directory ({Path.cwd()}): give an absolute path, "
                    "or run from the directory the path is relative to")
        raise ConfigError(f"{intro}. {got} does not exist{hint}", path=where)
    if kind == "file" and path.is_dir():
        raise ConfigError(f"{intro}, not a directory. {got} is a directory. Give a file in it", path=where)
    if kind == "directory" and not path.is_dir():
        raise ConfigError(f"{intro}, not a file. {got} is a file. Give the directory that holds the class folders",
                          path=where)
    if not os.access(path, os.R_OK | (os.X_OK if kind == "directory" else 0)):
        raise ConfigError(f"{intro}. {got} may not be read by this user. Check its permissions", path=where)
    return UserPath(dataset, param, given, path)


def _values(y: Any, source: ArraySource, what: str) -> np.ndarray:
    """The labels in ``y`` as a 1-D array of integers, booleans or strings, checked."""
    y = np.asarray(y)
    if y.dtype.kind == "O" and y.ndim == 1:  # pandas' object and extension columns: NumPy infers numbers or text
        try:
            y = np.asarray(y.tolist())
        except ValueError:  # ragged sequences: reported as their type below
            pass
    if y.ndim != 1:
        raise source.error(f"must hold {what} as one dimension (N,). Got shape {y.shape} instead. Flatten it, e.g. "
                           "y.ravel()")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y)
        if bad.any():
            raise source.error(f"must hold finite {what}. Got {int(bad.sum())} NaN or infinite values instead")
        fractional = y[y != np.round(y)]
        if fractional.size:
            shown = ", ".join(f"{v:g}" for v in np.unique(fractional)[:_SHOWN])
            raise source.error(f"must hold {what} that are integers or names of classes. Got non-integral numbers "
                               f"({shown}) instead. Use a class index or name per sample")
        y = y.astype(np.int64)
    if y.dtype.kind not in "biuUS":
        raise source.error(f"must hold {what} that are integers or names of classes. Got values of type {y.dtype} "
                           "instead")
    return y


def encode_labels(
    y_train: Any,
    train_source: ArraySource,
    y_test: Any | None = None,
    test_source: ArraySource | None = None,
    *,
    what: str = "labels",
) -> tuple[np.ndarray, np.ndarray | None, tuple[Any, ...]]:
    """Turn labels into class indices ``0 .. C-1``, the same mapping for both splits.

    Integer labels that already are ``0 .. C-1`` with every class present in ``y_train`` are kept; any other
    labels are sorted and the ``i``-th distinct training value becomes class ``i`` (the mapping is logged).

    Args:
        y_train: training labels (N,): integers, integral floats, booleans or strings.
        train_source: the file they come from, for messages.
        y_test: test labels, or ``None``; each must be one of the training labels.
        test_source: the file the test labels come from.
        what: how messages name the labels (e.g. ``"labels (array 'y_train')"``).

    Returns:
        ``(train_indices, test_indices or None, classes)`` with int64 indices; ``classes[i]`` is the label of
        class ``i`` as a plain Python value (``int``, ``str``, ``bool``), like scikit-learn's ``classes_``.

    Raises:
        ConfigError: labels that are not 1-D, not finite, not integral, of another type, fewer than two
            classes in the training labels, or test labels that are not training labels.
    """
    train = _values(y_train, train_source, what)
    classes = np.unique(train)
    if len(classes) < 2:
        shown = f" (all {classes[0].item()!r})" if len(classes) else ""
        raise train_source.error(f"must hold {what} of at least 2 classes. Got {len(classes)} class{shown} instead")
    identity = train.dtype.kind in "iu" and np.array_equal(classes, np.arange(len(classes)))
    test = None
    if y_test is not None:
        assert test_source is not None
        test = _values(y_test, test_source, what)
        comparable = (test.dtype.kind in "biu") == (train.dtype.kind in "biu")  # numbers never equal names
        unknown = np.setdiff1d(test, classes) if comparable else np.unique(test)
        if unknown.size:
            shown = ", ".join(repr(v.item()) for v in unknown[:_SHOWN])
            raise test_source.error(
                f"must hold {what} that also occur in the training data ({train_source}). Got {unknown.size} "
                f"other value(s) instead: {shown}"
            )
    labels = tuple(_plain(value) for value in classes)
    if identity:
        return train.astype(np.int64), None if test is None else test.astype(np.int64), labels
    mapping = ", ".join(f"{v.item()!r} -> {i}" for i, v in enumerate(classes[:_LOGGED_CLASSES]))
    more = f", ... ({len(classes)} classes)" if len(classes) > _LOGGED_CLASSES else ""
    logger.info("%s: labels mapped to class indices in sorted order: %s%s", train_source.dataset, mapping, more)
    encode = lambda values: np.searchsorted(classes, values).astype(np.int64)  # noqa: E731
    return encode(train), None if test is None else encode(test), labels


def _plain(value: np.generic) -> Any:
    """A label as a plain Python value (``int``, ``str``, ``bool``); bytes are decoded (as Latin-1, which never
    fails) so that the label can be written as text."""
    item = value.item()
    return item.decode("latin-1") if isinstance(item, bytes) else item


def split_or_keep(
    source: ArraySource,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None,
    y_test: np.ndarray | None,
    *,
    classes: tuple[Any, ...],
    test_fraction: float,
    seed: int,
    augmentations: tuple[str, ...] = (),
    standardize: bool = False,
    feature_names: tuple[str, ...] | None = None,
) -> TrainTest:
    """The ``TrainTest`` of a file's data: its own test split if it has one, else a stratified, seeded one
    of ``test_fraction`` drawn from ``(x_train, y_train)``. ``uint8`` images get the per-channel ``mean`` and
    ``std`` of their training part (``channel_stats``); other inputs too with ``standardize`` (per feature for
    a table), else none. The trainer and the saved final model apply them to raw inputs, so a model
    predicts from inputs as the file holds them. ``classes`` (what ``encode_labels`` returns) and a table's
    ``feature_names`` are kept for the saved model.

    Raises:
        ConfigError: a test split must be drawn and a class has a single sample (path of ``source``), or
            ``test_fraction`` leaves a split with fewer samples than classes.
    """
    num_classes = len(classes)
    if x_test is None or y_test is None:
        counts = np.bincount(y_train, minlength=num_classes)
        if counts.min() < 2:
            raise source.error(
                f"must hold at least 2 samples of every class to draw a test split (test_fraction) from it. Got "
                f"{counts.min()} sample(s) of class {int(counts.argmin())} instead. Add samples, or give a test split"
            )
        x_train, y_train, x_test, y_test = stratified_split(source.dataset, x_train, y_train, test_fraction, seed)
    mean, std = channel_stats(x_train) if x_train.dtype == np.uint8 or standardize else (None, None)
    return TrainTest(
        x_train, y_train, x_test, y_test, num_classes=num_classes, mean=mean, std=std, augmentations=augmentations,
        classes=tuple(classes), feature_names=feature_names,
    )


def channel_stats(x: np.ndarray, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and standard deviation per index of axis 1: per channel of images (N, C, H, W) or signals
    (N, C, L), per feature of a table (N, F). ``uint8`` inputs are scaled to [0, 1] first, as the trainer
    scales them.

    Computed in float64 over chunks of ``chunk`` samples, so no float copy of the whole array is made. A
    channel that never varies gets a standard deviation of 1 (normalising it gives zeros, not NaN).
    """
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    axes = (0, *range(2, x.ndim))
    total = np.zeros(x.shape[1])
    squares = np.zeros(x.shape[1])
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk].astype(np.float64) / scale
        total += part.sum(axis=axes)
        squares += np.square(part).sum(axis=axes)
    count = len(x) * int(np.prod(x.shape[2:], dtype=np.int64))
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std = np.where(std > 1e-6, std, 1.0)
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)
