"""``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), offline.

The data ship with scikit-learn, so nothing is downloaded. Pixels (0..16 in the original) are scaled to
[0, 1] and kept as ``float32`` images of shape (N, 1, 8, 8); they are *not* standardised, so ``mean`` and
``std`` are ``None`` and the values reach the model as they are. scikit-learn has no official test split,
so a stratified one is drawn with the experiment seed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from cords_tune.datasets.registry import DATASETS
from cords_tune.datasets.bundle import TrainTest, stratified_split
from cords_tune.params import ParamCheck

__all__ = ["digits"]

logger = logging.getLogger(__name__)

_NAME = "digits"
_MAX_PIXEL = 16.0  # the digits' pixels are counts of 4x4 blocks of a 32x32 bitmap: 0..16


@DATASETS.register(_NAME)
def digits(*, data_dir: Path, seed: int, test_fraction: float = 0.2) -> TrainTest:
    """scikit-learn's 8x8 handwritten digits, 10 classes, as [0, 1] float images; offline, instant.

    Args:
        data_dir: unused (the data ship with scikit-learn); part of the loader contract.
        seed: seeds the stratified train/test split.
        test_fraction: share of the 1797 images held out as the test split, in (0, 1).

    Returns:
        ``float32`` images of shape (N, 1, 8, 8) with values in [0, 1], int64 labels in ``[0, 10)``.
    """
    test_fraction = ParamCheck("dataset", _NAME).number(
        "test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )

    from sklearn.datasets import load_digits  # deferred: importing sklearn takes seconds

    bunch = load_digits()
    x = (bunch.images / _MAX_PIXEL).astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    x_train, y_train, x_test, y_test = stratified_split(_NAME, x, y, test_fraction, seed)
    logger.debug("digits: %d train / %d test images", len(y_train), len(y_test))
    return TrainTest(x_train, y_train, x_test, y_test, num_classes=10)
