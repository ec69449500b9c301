"""The in-memory form of a dataset that every trial shares: NumPy arrays, so that Ray's object store can
hand them to the trials of a node without copying (zero-copy reads of NumPy buffers).

Also the two seeded, stratified splits: ``stratified_split`` draws a test split for loaders whose data have
none, and ``split_validation`` carves the validation split out of every dataset's training part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cords_tune.params import ParamCheck

__all__ = ["DataBundle", "TrainTest", "split_validation", "stratified_split"]


@dataclass(frozen=True)
class DataBundle:
    """Train / validation / test splits of a classification dataset, as arrays.

    Images are kept as ``uint8`` (N, C, H, W) to keep the object store small; they are scaled to [0, 1]
    and normalised with ``mean`` / ``std`` (per channel) on the trial's device. Other inputs are ``float32``.

    Attributes:
        name: registry name of the dataset.
        x_train, y_train, x_val, y_val, x_test, y_test: inputs (N, *input_shape) and int64 labels (N,).
        num_classes: number of classes; labels are in ``[0, num_classes)``.
        mean, std: normalisation per index of axis 1 (a channel of images, a feature of a table), applied
            after ``uint8`` inputs are scaled to [0, 1]; ``None``: inputs as they are.
        augmentations: tensor augmentations that suit the data (``"crop"``, ``"flip"``), applied to
            training batches only, never to validation or test.
        classes: the user's label of each class index (plain ints, strings or booleans, in index order),
            as the loader found them; ``None``: the labels are the indices ``0 .. num_classes-1``.
        feature_names: a table's feature columns in the order the model takes them; ``None`` for other data.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augmentations: tuple[str, ...] = field(default_factory=tuple)
    classes: tuple[Any, ...] | None = None
    feature_names: tuple[str, ...] | None = None

    @property
    def class_labels(self) -> tuple[Any, ...]:
        """The user's label of each class index: ``classes``, or ``0 .. num_classes-1`` where it is ``None``."""
        return tuple(range(self.num_classes)) if self.classes is None else tuple(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def nbytes(self) -> int:
        arrays = (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test)
        return sum(a.nbytes for a in arrays)

    def describe(self) -> str:
        return (
            f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} val / {len(self.y_test)} test, "
            f"{self.num_classes} classes, input {self.input_shape} {self.x_train.dtype}, "
            f"{self.nbytes / 2**20:.1f} MiB"
        )


@dataclass(frozen=True)
class TrainTest:
    """What a dataset loader returns: the dataset's own train and test splits plus its metadata.

    ``load_dataset`` carves the validation split out of ``x_train`` and makes the ``DataBundle``; ``classes``
    and ``feature_names`` are as there.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augmentations: tuple[str, ...] = field(default_factory=tuple)
    classes: tuple[Any, ...] | None = None
    feature_names: tuple[str, ...] | None = None


def stratified_split(
    dataset: str, x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(x, y)`` into train and test parts, stratified by label and seeded (scikit-learn's
    ``train_test_split``), for loaders whose data come without a test split.

    Args:
        dataset: the dataset's registry name, for error messages.
        x, y: inputs and integer labels.
        test_fraction: share of the samples that go to the test split, in (0, 1).
        seed: seed of the shuffle; the same seed gives the same split.

    Returns:
        ``(x_train, y_train, x_test, y_test)``.

    Raises:
        ConfigError: ``test_fraction`` leaves fewer samples than classes in either split
            (path ``dataset.params.test_fraction``).
    """
    from sklearn.model_selection import train_test_split  # deferred: importing sklearn takes seconds

    num_classes = len(np.unique(y))
    num_test = math.ceil(test_fraction * len(y))  # how scikit-learn rounds test_size
    if num_test < num_classes or len(y) - num_test < num_classes:
        raise ParamCheck("dataset", dataset).error(
            "test_fraction",
            f"large and small enough to leave at least {num_classes} samples (one per class) in both the "
            f"train and the test split of {len(y)} samples",
            test_fraction,
        )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=num_test, stratify=y, random_state=seed, shuffle=True
    )
    return x_train, y_train, x_test, y_test


def split_validation(
    x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Carve a stratified, seeded validation split out of the training data.

    Every class keeps at least one training sample; a class of n samples gives ``round(n * val_fraction)``
    of them to validation. Returns ``(x_train, y_train, x_val, y_val)``.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1). Got {val_fraction} instead.")
    rng = np.random.default_rng(seed)
    val_idx = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        take = min(int(round(len(members) * val_fraction)), len(members) - 1)
        val_idx.append(rng.choice(members, size=take, replace=False))
    val_mask = np.zeros(len(y), dtype=bool)
    val_mask[np.concatenate(val_idx)] = True
    return x[~val_mask], y[~val_mask], x[val_mask], y[val_mask]
